import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Hook, HookInput, type PythonConfig, type ShellConfig } from '@stagehooks/core/domain';
import type { ScriptHook } from '@stagehooks/core/ports';

type ConfigInput = Partial<Record<keyof ShellConfig | keyof PythonConfig, unknown>>;

/** A stored script hook, parsed as the registry would return it; 5 s timeout unless given. */
export function scriptHook(type: 'shell' | 'python', config: ConfigInput): ScriptHook {
  const hook = Hook.parse({
    id: '01JSCRIPTHOOK0000000000000',
    name: 'color_grade',
    description: '',
    type,
    hookPoint: 'post_segment',
    scopeType: 'project',
    scopeId: 'p1',
    failureMode: 'block',
    sortOrder: 10,
    enabled: true,
    revision: 3,
    config: { timeoutSeconds: 5, ...config },
    createdBy: 'alice',
    createdAt: '2026-11-20T12:00:00.000Z',
    updatedAt: '2026-11-20T12:00:00.000Z',
  });
  if (hook.type === 'webhook') throw new Error('scriptHook builds script hooks only');
  return hook;
}

export const shellHook = (config: ConfigInput) => scriptHook('shell', config);
export const pythonHook = (config: ConfigInput) => scriptHook('python', config);

export const hookInput: HookInput = HookInput.parse({
  invocationId: 'inv-1',
  hookPoint: 'post_segment',
  jobId: 'job-42',
  projectId: 'p1',
  sceneTypeId: 'st-dance',
  segmentPath: 's3://bucket/job-42/seg-3.mp4',
  metadata: { fps: 24 },
  sceneContext: { mood: 'calm', title: 'été' },
  hook: { id: '01JSCRIPTHOOK0000000000000', name: 'color_grade', revision: 3 },
  attempt: 1,
  test: false,
});

/** Host pids whose command line contains `marker` (zombies have none, so they do not count). */
export function processesWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

/** True while `pid` runs (a zombie waiting to be reaped counts as dead). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A sleep duration unique to one test, so its processes can be found on the host. */
export function uniqueSleep(): string {
  return `30.${process.pid}${Math.floor(Math.random() * 1e6)}`;
}

/** The unprivileged host user the runAs tests run scripts as (these tests run as root). */
export const nobody = { uid: 65534, gid: 65534 } as const;

/**
 * A python3 that `user` can start, found by starting each candidate as that user: the one on PATH may
 * live where only root reaches it (a pyenv under /root).
 */
export function pythonFor(user: { uid: number; gid: number }): string {
  const onPath = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  }).trim();
  const candidates = [onPath, '/usr/bin/python3', '/usr/local/bin/python3'];
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['-c', 'pass'], { ...user, cwd: '/', stdio: 'ignore' });
      return candidate;
    } catch {
      // out of reach, or not there: try the next
    }
  }
  throw new Error(`no python3 that uid ${user.uid} can start; tried ${candidates.join(', ')}`);
}
