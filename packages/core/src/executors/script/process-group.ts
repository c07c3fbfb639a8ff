import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { StagehooksError } from '../../errors';
import { BoundedCapture } from './output-capture';
import type { ScriptUser } from './script-user';

/** How to start one script run. */
export interface ProcessLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Given to the process as its stdin. */
  stdinFile: string;
  /** Written to fd 3 and closed (bwrap reads its `--args` there). */
  fd3?: Buffer;
  timeoutMs: number;
  /** Bytes kept of stdout and of stderr each. */
  captureBytes: number;
  /** Who the process runs as (needs a root runner); null: the runner's own uid and gid. */
  user: ScriptUser | null;
  /**
   * A folder of this run alone that the command line names (the script runner's work folder): what
   * finds the run's processes if a launcher dies before it reported them. Unset: not searched for.
   */
  runFolder?: string;
}

/** What was kept of one output stream (see `BoundedCapture`). */
export interface CapturedOutput {
  text: string;
  truncated: boolean;
  /** The last non-empty line of everything written, when it fits in the kept tail. */
  lastLine: string | null;
}

/** A run that ended: plain data, so a launcher process can send it back as it is. */
export interface FinishedProcess {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: CapturedOutput;
  stderr: CapturedOutput;
}

/**
 * Starts process groups and waits for them: `inProcessLauncher` in the caller's own process; the
 * local stack uses a small launcher process of its own instead (`fork` copies the page tables of the
 * process that spawns, so from a large one every spawn costs milliseconds more).
 */
export interface ProcessLauncher {
  /** Rejects (StagehooksError) only when the process cannot be started or its launcher is gone. */
  run(launch: ProcessLaunch): Promise<FinishedProcess>;
}

export const inProcessLauncher: ProcessLauncher = { run: (launch) => runProcessGroup(launch) };

export interface RunProcessGroupOptions {
  /** Called once the process is started, with its pid (= its process group id). */
  onSpawn?: (pid: number) => void;
}

/** How long to wait for the pipes to close once the group is dead, in case something left the group (setsid). */
const DRAIN_GRACE_MS = 2_000;
/** How long to wait for killed group members to be gone, so a run never returns while they still run. */
const GROUP_EXIT_WAIT_MS = 1_000;

/**
 * Runs a command as the leader of its own process group and kills the whole group (SIGKILL) on
 * timeout and again once the leader exits, so backgrounded children never outlive the run (a group of
 * `launch.user` too: only a root runner starts one, and root may signal any uid).
 * Rejects (StagehooksError) only when the process cannot be started.
 */
export async function runProcessGroup(
  launch: ProcessLaunch,
  options: RunProcessGroupOptions = {},
): Promise<FinishedProcess> {
  const stdin = openSync(launch.stdinFile, 'r');
  try {
    const { finished, group, signalledAfterExit } = await watchProcessGroup(launch, stdin, options);
    // SIGKILL is delivered, not yet acted on: wait so callers (and tests) see the group gone.
    if (signalledAfterExit) await groupEnded(group);
    return finished;
  } finally {
    closeSync(stdin);
  }
}

interface WatchedGroup {
  finished: FinishedProcess;
  group: number;
  /** Something was still in the group when the leader exited. */
  signalledAfterExit: boolean;
}

function watchProcessGroup(
  launch: ProcessLaunch,
  stdinFd: number,
  options: RunProcessGroupOptions,
): Promise<WatchedGroup> {
  return new Promise<WatchedGroup>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(launch.command, launch.args, {
        cwd: launch.cwd,
        env: launch.env,
        // Own session and process group: `kill(-pid)` reaches every descendant that stays in it.
        detached: true,
        // libuv also drops every supplementary group (setgroups(0)) before setgid and setuid.
        ...(launch.user !== null && { uid: launch.user.uid, gid: launch.user.gid }),
        stdio: [stdinFd, 'pipe', 'pipe', ...(launch.fd3 ? (['pipe'] as const) : [])],
      });
    } catch (error) {
      reject(cannotStart(launch.command, error));
      return;
    }

    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const stdout = new BoundedCapture(launch.captureBytes);
    const stderr = new BoundedCapture(launch.captureBytes);
    child.stdout?.on('data', (chunk: Buffer) => stdout.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.write(chunk));
    const fd3 = child.stdio[3] as Writable | null | undefined;
    if (fd3 && launch.fd3) {
      fd3.on('error', () => undefined); // EPIPE when the process dies before reading: its exit says why
      fd3.end(launch.fd3);
    }

    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let settled = false;
    let signalledAfterExit = false;
    let drainTimer: NodeJS.Timeout | undefined;
    /** True when the group still had members to signal. */
    const killGroup = () => {
      if (child.pid === undefined) return false;
      try {
        return process.kill(-child.pid, 'SIGKILL');
      } catch {
        return false; // ESRCH: nothing is left in the group
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, launch.timeoutMs);

    child.once('error', (error) => {
      // A spawn failure has no pid and no 'exit'; later errors (e.g. a failed kill) change nothing.
      if (child.pid !== undefined || settled) return;
      settled = true;
      clearTimeout(timer);
      reject(cannotStart(launch.command, error));
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      clearTimeout(timer);
      signalledAfterExit = killGroup();
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, DRAIN_GRACE_MS);
    });
    child.once('close', () => {
      clearTimeout(drainTimer);
      if (settled || exit === null || child.pid === undefined) return;
      settled = true;
      resolve({
        finished: {
          exitCode: exit.code,
          signal: exit.signal,
          timedOut,
          stdout: captured(stdout),
          stderr: captured(stderr),
        },
        group: child.pid,
        signalledAfterExit,
      });
    });
  });
}

function captured(capture: BoundedCapture): CapturedOutput {
  return { text: capture.text(), truncated: capture.truncated, lastLine: capture.lastLine() ?? null };
}

/** Waits (bounded) until no live process is left in the group; zombies count as gone. Linux only. */
async function groupEnded(group: number): Promise<void> {
  const deadline = performance.now() + GROUP_EXIT_WAIT_MS;
  while (performance.now() < deadline && (await liveMembers(group)) > 0) await sleep(10);
}

async function liveMembers(group: number): Promise<number> {
  let live = 0;
  for (const pid of processIds()) {
    try {
      const { state, group: member } = parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
      if (member === group && state !== 'Z' && state !== 'X') live++;
    } catch {
      // exited while we looked
    }
  }
  return live;
}

/** The processes running now, by their `/proc` entries; none without procfs (no Linux). */
export function processIds(): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return [];
  }
}

/** A process's state letter and process group, from the text of its `/proc/<pid>/stat`. */
export function parseProcStat(stat: string): { state: string; group: number } {
  // Fields after the parenthesised command name (which may hold spaces): state, ppid, pgrp, ...
  const [state = '', , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state, group: Number(group) };
}

function cannotStart(command: string, error: unknown): StagehooksError {
  return new StagehooksError(`could not start ${command}`, { cause: error });
}
