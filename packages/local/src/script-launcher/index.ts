import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { StagehooksError } from '@stagehooks/core/errors';
import {
  type FinishedProcess,
  type LauncherReply,
  type LauncherRequest,
  launcherEntry,
  type ProcessLaunch,
  type ProcessLauncher,
  parseProcStat,
  processIds,
} from '@stagehooks/core/executors/script';
import { build } from 'esbuild';

/** How long the launcher may take to start, and to exit once asked. */
const START_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 5_000;
/** After the launcher exited, how long its channel may take to deliver what it still held. */
const CHANNEL_DRAIN_MS = 1_000;

interface PendingRun {
  launch: ProcessLaunch;
  /** The launcher process the run was sent to. */
  launcher: ChildProcess;
  resolve: (finished: FinishedProcess) => void;
  reject: (error: Error) => void;
  /** The run's process group, once the launcher reported it. */
  group?: number;
}

/**
 * Bundles the launcher (`@stagehooks/core` `launcher-process.ts`, a few KB: `runProcessGroup` and
 * nothing else) into `dir` for plain `node`: under the TypeScript loader it would weigh ~50 MB more,
 * which is what it is there to avoid. Written under a name of its own, then renamed into place.
 */
export async function bundleScriptLauncher(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const outfile = join(dir, 'script-launcher.mjs');
  const written = `${outfile}.${process.pid}.tmp`;
  await build({
    entryPoints: [fileURLToPath(launcherEntry)],
    outfile: written,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  });
  await rename(written, outfile);
  return outfile;
}

/**
 * The local stack's `ProcessLauncher`: script processes are started by a small launcher process of
 * their own (see `launcher-process.ts`) rather than by the stack's process, where each spawn costs a
 * few ms more for the fork of a large process. Timeouts, output bounds and group kills happen in the
 * launcher exactly as in-process (`runProcessGroup`).
 *
 * If the launcher dies, the runs it had end with an error (their process groups are killed: none is
 * left running unobserved) and the next run starts a new launcher. `close()` ends it; it kills what
 * still runs, and so does the launcher itself when the stack's process dies (its IPC channel closes).
 */
export class ScriptLauncher implements ProcessLauncher {
  readonly #file: string;
  readonly #pending = new Map<number, PendingRun>();
  #child: Promise<ChildProcess> | undefined;
  #nextId = 0;
  #closing: Promise<void> | undefined;
  /** Per launcher process: settles once it exited and its runs were ended. */
  readonly #ended = new WeakMap<ChildProcess, Promise<void>>();

  private constructor(file: string) {
    this.#file = file;
  }

  /** Bundles the launcher into `dir` and starts it. */
  static async start(dir: string): Promise<ScriptLauncher> {
    const launcher = new ScriptLauncher(await bundleScriptLauncher(dir));
    await launcher.#launcher();
    return launcher;
  }

  async run(launch: ProcessLaunch): Promise<FinishedProcess> {
    if (this.#closing) throw new StagehooksError('the script launcher is closed');
    const child = await this.#launcher();
    const id = this.#nextId++;
    return new Promise<FinishedProcess>((resolve, reject) => {
      this.#pending.set(id, { launch, launcher: child, resolve, reject });
      const request: LauncherRequest = { type: 'run', id, launch };
      child.send(request, (error) => {
        if (error) this.#settle(id)?.reject(launcherGone(`could not reach it (${error.message})`));
      });
    });
  }

  /** Stops the launcher; scripts still running are killed and their runs end with an error. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const child = await this.#child?.catch(() => undefined);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const ended = this.#ended.get(child);
    // The launcher kills its groups and exits when its channel closes.
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    await ended;
    clearTimeout(timer);
  }

  #launcher(): Promise<ChildProcess> {
    this.#child ??= this.#fork();
    return this.#child;
  }

  #fork(): Promise<ChildProcess> {
    const started = new Promise<ChildProcess>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = fork(this.#file, [], {
          execArgv: [],
          serialization: 'advanced',
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
      } catch (error) {
        reject(launcherGone(`it could not be started (${(error as Error).message})`));
        return;
      }
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(launcherGone(`it did not start within ${START_TIMEOUT_MS / 1000} s`));
      }, START_TIMEOUT_MS);
      child.on('message', (message: LauncherReply) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(child);
        } else this.#onReply(message);
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(launcherGone(`it could not be started (${error.message})`));
      });
      const exited = new Promise<string>((resolve) =>
        child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
      );
      // Its runs end once its channel is closed too: every message it sent before dying is handled by
      // then, so a run it reported finished just before stands.
      const disconnected = new Promise<void>((resolve) => {
        if (!child.connected) resolve();
        child.once('disconnect', () => resolve());
      });
      this.#ended.set(
        child,
        exited.then(async (how) => {
          clearTimeout(timer);
          reject(launcherGone(`it exited (${how}) before it was ready`));
          await Promise.race([disconnected, sleep(CHANNEL_DRAIN_MS)]);
          this.#failRunsOf(
            child,
            this.#closing
              ? 'the local stack stopped while the script ran; its process group was killed'
              : `it exited (${how}) while the script ran`,
          );
          if (this.#child === started) this.#child = undefined;
        }),
      );
    });
    // A launcher that failed to start is not kept: the next run tries again.
    started.catch(() => {
      if (this.#child === started) this.#child = undefined;
    });
    return started;
  }

  #onReply(message: Exclude<LauncherReply, { type: 'ready' }>): void {
    if (message.type === 'spawned') {
      const run = this.#pending.get(message.id);
      if (run) run.group = message.pid;
      return;
    }
    const run = this.#settle(message.id);
    if (run === undefined) return;
    if (message.type === 'finished') run.resolve(message.finished);
    else {
      const cause = message.cause === null ? undefined : { cause: new Error(message.cause) };
      run.reject(new StagehooksError(message.message, cause));
    }
  }

  #settle(id: number): PendingRun | undefined {
    const run = this.#pending.get(id);
    this.#pending.delete(id);
    return run;
  }

  /**
   * A launcher is gone: what it ran must not go on unobserved (no timeout would stop it). A run's
   * group is the one the launcher reported, or, if it died between starting the run and reporting it,
   * the groups whose leader names the run's own folder (`launch.runFolder`) on its command line.
   */
  #failRunsOf(launcher: ChildProcess, reason: string): void {
    for (const [id, run] of this.#pending) {
      if (run.launcher !== launcher) continue;
      this.#pending.delete(id);
      const groups =
        run.group !== undefined
          ? [run.group]
          : run.launch.runFolder !== undefined
            ? groupsNaming(run.launch.runFolder)
            : [];
      for (const group of groups) {
        try {
          process.kill(-group, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      run.reject(this.#closing ? new StagehooksError(reason) : launcherGone(reason));
    }
  }
}

/** Process groups led by a process whose command line has an argument within `folder`. Linux only. */
export function groupsNaming(folder: string): number[] {
  const groups: number[] = [];
  for (const pid of processIds()) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!args.some((arg) => arg === folder || arg.startsWith(`${folder}/`))) continue;
      const { group } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (group === pid) groups.push(group);
    } catch {
      // exited while we looked
    }
  }
  return groups;
}

const launcherGone = (reason: string) => new StagehooksError(`the script launcher failed: ${reason}`);
