import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
} from '@stagehooks/core/executors/script';
import { build } from 'esbuild';

/** How long the launcher may take to start, and to exit once asked. */
const START_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 5_000;

interface PendingRun {
  launch: ProcessLaunch;
  resolve: (finished: FinishedProcess) => void;
  reject: (error: Error) => void;
  /** The run's process group, once the launcher reported it. */
  group?: number;
}

/**
 * Bundles the launcher (`@stagehooks/core` `launcher-process.ts`, a few KB: `runProcessGroup` and
 * nothing else) into `dir` for plain `node`: under the TypeScript loader it would weigh ~50 MB more,
 * which is what it is there to avoid.
 */
export async function bundleScriptLauncher(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const outfile = join(dir, 'script-launcher.mjs');
  await build({
    entryPoints: [fileURLToPath(launcherEntry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  });
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
  #closed = false;

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
    if (this.#closed) throw new StagehooksError('the script launcher is closed');
    const child = await this.#launcher();
    const id = this.#nextId++;
    return new Promise<FinishedProcess>((resolve, reject) => {
      this.#pending.set(id, { launch, resolve, reject });
      const request: LauncherRequest = { type: 'run', id, launch };
      child.send(request, (error) => {
        if (error) this.#settle(id)?.reject(launcherGone(`could not reach it (${error.message})`));
      });
    });
  }

  /** Stops the launcher; scripts still running are killed and their runs end with an error. */
  async close(): Promise<void> {
    this.#closed = true;
    const child = await this.#child?.catch(() => undefined);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // The launcher kills its groups and exits when its channel closes.
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  #launcher(): Promise<ChildProcess> {
    this.#child ??= this.#fork();
    return this.#child;
  }

  #fork(): Promise<ChildProcess> {
    return new Promise<ChildProcess>((resolve, reject) => {
      const child = fork(this.#file, [], {
        execArgv: [],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
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
      child.once('error', (error) => {
        clearTimeout(timer);
        this.#child = undefined;
        reject(launcherGone(`it could not be started (${error.message})`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.#child = undefined;
        reject(launcherGone(`it exited (${signal ?? `code ${code}`}) before it was ready`));
        this.#failAll(`it exited (${signal ?? `code ${code}`}) while the script ran`);
      });
    });
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
   * The launcher is gone: what it ran must not go on unobserved (no timeout would stop it). A run's
   * group is the one the launcher reported, or, if it died between starting the run and reporting it,
   * the groups whose leader names the run's work folder on its command line.
   */
  #failAll(reason: string): void {
    for (const [id, run] of this.#pending) {
      this.#pending.delete(id);
      const groups = run.group !== undefined ? [run.group] : groupsNaming(dirname(run.launch.stdinFile));
      for (const group of groups) {
        try {
          process.kill(-group, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      run.reject(launcherGone(reason));
    }
  }
}

/** Process groups led by a process whose command line has an argument within `folder`. Linux only. */
function groupsNaming(folder: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const groups: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!args.some((arg) => arg === folder || arg.startsWith(`${folder}/`))) continue;
      const { group } = parseProcStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (group === Number(entry)) groups.push(group);
    } catch {
      // exited while we looked
    }
  }
  return groups;
}

const launcherGone = (reason: string) => new StagehooksError(`the script launcher failed: ${reason}`);
