import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SCRIPT_LIMITS, ProcessScriptRunner } from '@stagehooks/core/executors/script';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookInput, processesWith, pythonFor, pythonHook, shellHook, uniqueSleep } from './script-fixtures';

// What bounds a script's processes and disk. RLIMIT_NPROC counts every process of a uid on the host,
// so these tests use uids of their own: scripts of other test files running meanwhile do not count.
// Each test has a uid of its own too: the killed children of one may not be reaped yet (zombies count)
// when the next starts. They run as root, as scripts with runAs need.
let nextUid = 64_300;
const freshUser = () => {
  nextUid -= 2; // runAsUsers: 2 takes the one below as well
  return { uid: nextUid, gid: nextUid };
};
const user = freshUser();
const MiB = 1024 * 1024;

let scratch: string;
let python: string;

beforeAll(() => {
  expect(process.geteuid?.()).toBe(0);
  scratch = mkdtempSync(join(tmpdir(), 'stagehooks-bounds-test-'));
  python = pythonFor(user);
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Starts up to 200 `sleep`s, printing the count after each; bash then retries a refused fork for ~15 s. */
const forkShell = (marker: string) =>
  shellHook({
    script: `for ((i = 1; i <= 200; i++)); do sleep ${marker} & echo "$i"; done`,
    timeoutSeconds: 3,
  });

/** Starts up to 200 `sleep`s and prints how many started and why the next did not. */
const forkPython = (marker: string) =>
  pythonHook({
    script: [
      'import errno, subprocess',
      'started = []',
      'try:',
      '    for _ in range(200):',
      `        started.append(subprocess.Popen(["sleep", "${marker}"]))`,
      '    print(len(started), "no limit")',
      'except OSError as error:',
      '    print(len(started), errno.errorcode[error.errno])',
    ].join('\n'),
    timeoutSeconds: 10,
  });

describe.each([
  { label: 'bubblewrap', sandbox: 'bubblewrap' },
  { label: 'none', sandbox: 'none' },
] as const)('ProcessScriptRunner with runAs, sandbox $label: bounds', ({ sandbox }) => {
  const runner = (limits: ConstructorParameters<typeof ProcessScriptRunner>[0] = {}) =>
    new ProcessScriptRunner({ sandbox, runAs: freshUser(), python, ...limits });

  it(`stops a shell script at ${DEFAULT_SCRIPT_LIMITS.processes} processes by default (itself one of them)`, async () => {
    // Act
    const marker = uniqueSleep();
    const result = await runner().run(forkShell(marker), hookInput);

    // Assess: bash blocked in its fork retries until the timeout killed the group
    const started = Number(result.stdout?.trim().split('\n').at(-1));
    expect(result.status).toBe('timed_out');
    expect(started).toBe(DEFAULT_SCRIPT_LIMITS.processes - 1);
    expect(result.stderr).toMatch(/fork: retry: Resource temporarily unavailable/);
    expect(processesWith(marker)).toEqual([]);
  });

  it('stops a python script at the configured process count, with EAGAIN', async () => {
    // Act
    const marker = uniqueSleep();
    const result = await runner({ limits: { processes: 20 } }).run(forkPython(marker), hookInput);

    // Assess
    expect(result).toMatchObject({ status: 'passed', stdout: '19 EAGAIN\n' });
    expect(processesWith(marker)).toEqual([]);
  });

  it('stops a write at the file-size limit', async () => {
    // Act: twice the bound into one file, in the script's writable folder (cwd)
    const result = await runner({ limits: { diskMiB: 4 } }).run(
      shellHook({
        script: `head -c ${8 * MiB} /dev/zero > big; echo "exit $?"; stat -c %s big`,
      }),
      hookInput,
    );

    // Assess: SIGXFSZ (25) killed head at exactly the bound
    expect(result.stdout).toBe(`exit ${128 + 25}\n${4 * MiB}\n`);
    expect(result.stderr).toMatch(/File size limit exceeded/);
  });
});

describe('ProcessScriptRunner with runAs, sandbox bubblewrap: its filesystems', () => {
  const runner = (options: ConstructorParameters<typeof ProcessScriptRunner>[0] = {}) =>
    new ProcessScriptRunner({ sandbox: 'bubblewrap', runAs: user, limits: { diskMiB: 4 }, ...options });

  it('bounds /tmp and /dev/shm to the disk limit each, and keeps / and /dev read-only', async () => {
    // Act: three files of 1.5 MiB, below the file-size limit, into each 4 MiB tmpfs
    const part = 1.5 * MiB;
    const result = await runner().run(
      shellHook({
        script: [
          'for dir in /tmp /dev/shm; do',
          `  for f in a b c; do head -c ${part} /dev/zero > "$dir/$f" 2>/dev/null; echo -n "$f=$? "; done`,
          '  cat "$dir"/? | wc -c',
          'done',
          'touch /x /dev/x 2>&1',
        ].join('\n'),
      }),
      hookInput,
    );

    // Assess: the third file does not fit; nothing outside /tmp and /dev/shm is writable
    const [tmp, shm, root, dev] = (result.stdout ?? '').split('\n');
    for (const line of [tmp, shm]) {
      const [a, b, c, written] = (line ?? '').split(' ');
      expect([a, b, c]).toEqual(['a=0', 'b=0', 'c=1']);
      expect(Number(written)).toBeLessThanOrEqual(4 * MiB);
      expect(Number(written)).toBeGreaterThan(3 * MiB);
    }
    expect(root).toMatch(/cannot touch '\/x': Read-only file system/);
    expect(dev).toMatch(/cannot touch '\/dev\/x': Read-only file system/);
  });

  it('runs an interpreter and venvs behind folders the script user may not enter', async () => {
    // Prepare: a venv of the runner's own python3 (under /root with pyenv) in a folder only root enters
    const closed = join(scratch, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    execFileSync('python3', ['-m', 'venv', '--without-pip', join(closed, 'venvs', 'tools')]);

    // Act
    const result = await runner({ venvsRoot: join(closed, 'venvs') }).run(
      pythonHook({ script: 'import os, sys; print(os.getuid(), sys.prefix)', venv: 'tools' }),
      hookInput,
    );

    // Assess
    expect(result).toMatchObject({
      status: 'passed',
      stdout: `${user.uid} ${join(closed, 'venvs', 'tools')}\n`,
    });
  });

  it('gives scripts running side by side host uids of their own', async () => {
    // Act
    const shared = runner({ runAsUsers: 2 });
    const results = await Promise.all([
      shared.run(shellHook({ script: 'sleep 0.3; id -u' }), hookInput),
      shared.run(shellHook({ script: 'sleep 0.3; id -u' }), hookInput),
    ]);

    // Assess
    expect(results.map((r) => r.stdout).sort()).toEqual([`${user.uid - 1}\n`, `${user.uid}\n`]);
  });
});
