import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError } from '@stagehooks/core/errors';
import { ProcessScriptRunner, type ScriptUser } from '@stagehooks/core/executors/script';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hookInput,
  nobody,
  processesWith,
  pythonFor,
  pythonHook,
  shellHook,
  uniqueSleep,
} from './script-fixtures';

// Switching users needs a root runner, and these tests run as root: they check the real thing. The
// whole script contract under runAs is in script-runner.test.ts; here, what runAs itself promises.
let scratch: string;
/** Where runs make their folders: reachable by the script user, so the tests can see what is left. */
let workRoot: string;
let nobodysPython: string;

beforeAll(() => {
  expect(process.geteuid?.()).toBe(0);
  scratch = mkdtempSync(join(tmpdir(), 'stagehooks-run-as-test-'));
  chmodSync(scratch, 0o755);
  workRoot = join(scratch, 'work');
  mkdirSync(workRoot, { mode: 0o755 });
  nobodysPython = pythonFor(nobody);
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const asNobody = (options: ConstructorParameters<typeof ProcessScriptRunner>[0] = {}) =>
  new ProcessScriptRunner({ sandbox: 'none', runAs: nobody, workRoot, python: nobodysPython, ...options });

/** Reports whether the script may read the runner's initial environment and signal it. */
const probeRunner = shellHook({
  script: [
    `if tr '\\0' '\\n' < "/proc/$RUNNER_PID/environ"; then echo environ-readable; else echo environ-denied; fi`,
    'if kill -0 "$RUNNER_PID"; then echo signal-allowed; else echo signal-denied; fi',
  ].join('\n'),
  env: { RUNNER_PID: String(process.pid) },
});

describe('ProcessScriptRunner with runAs, sandbox none', () => {
  it('runs the script as that uid and gid, without supplementary groups or capabilities', async () => {
    // Act
    const result = await asNobody().run(
      shellHook({ script: 'id -u; id -g; id -G; grep CapEff /proc/self/status' }),
      hookInput,
    );

    // Assess
    expect(result).toMatchObject({ status: 'passed', stderr: '' });
    expect(result.stdout).toBe('65534\n65534\n65534\nCapEff:\t0000000000000000\n');
  });

  it('cannot read the runner’s /proc/<pid>/environ nor signal it, which a same-uid script can', async () => {
    // Prepare: what a leak would show, the environment this process started with.
    const firstVariable = readFileSync('/proc/self/environ', 'utf8').split('\0')[0];
    expect(firstVariable).toMatch(/=/);

    // Act
    const sameUid = await new ProcessScriptRunner({ sandbox: 'none', workRoot }).run(probeRunner, hookInput);
    const otherUid = await asNobody().run(probeRunner, hookInput);

    // Assess
    expect(sameUid.stdout).toContain(`${firstVariable}\n`);
    expect(sameUid.stdout).toMatch(/environ-readable\nsignal-allowed\n$/);
    expect(otherUid).toMatchObject({ status: 'passed', stdout: 'environ-denied\nsignal-denied\n' });
    expect(otherUid.stderr).toContain('Permission denied');
    expect(otherUid.stderr).toContain('Operation not permitted');
  });

  it('cannot ptrace the runner', async () => {
    // Prepare: PTRACE_SEIZE, which would not even stop the runner if it were allowed.
    const hook = pythonHook({
      script: [
        'import ctypes, os',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'if libc.ptrace(0x4206, int(os.environ["RUNNER_PID"]), None, None) == 0:',
        '    print("ptrace-allowed")',
        'else:',
        '    print("ptrace-denied:", os.strerror(ctypes.get_errno()))',
      ].join('\n'),
      env: { RUNNER_PID: String(process.pid) },
    });

    // Act
    const result = await asNobody().run(hook, hookInput);

    // Assess
    expect(result.stdout).toBe('ptrace-denied: Operation not permitted\n');
  });

  it('reads its script, stdin and STAGEHOOKS_INPUT_FILE, writes only in its home, never in the work folder', async () => {
    // Prepare
    const script = [
      'work=$(dirname "$STAGEHOOKS_INPUT_FILE")',
      `printf '%s\\n' "$(cat)"`,
      'cat "$STAGEHOOKS_INPUT_FILE"; echo',
      `grep -c '^ulimit .*; work=' "$0"`, // readable; its first line sets the limits, then the script's own
      `stat -c '%u:%g %a %n' "$work" "$0" "$STAGEHOOKS_INPUT_FILE" "$HOME" | sed "s#$work#WORK#"`,
      'touch "$work/extra" 2>/dev/null && echo created-in-work-folder',
      '{ echo x >> "$STAGEHOOKS_INPUT_FILE"; } 2>/dev/null && echo changed-input',
      '{ echo x >> "$0"; } 2>/dev/null && echo changed-script',
      'mv "$STAGEHOOKS_INPUT_FILE" "$HOME/" 2>/dev/null && echo moved-input',
      'chmod 777 "$work" 2>/dev/null && echo opened-work-folder',
      '[ "$(pwd)" = "$HOME" ] && [ "$TMPDIR" = "$HOME" ] && echo note > note && cat "$HOME/note"',
    ].join('\n');

    // Act
    const result = await asNobody().run(shellHook({ script }), hookInput);

    // Assess
    expect(result).toMatchObject({ status: 'passed', stderr: '' });
    const [fromStdin, fromFile, ...rest] = (result.stdout ?? '').split('\n');
    expect(JSON.parse(fromStdin!)).toEqual(hookInput);
    expect(JSON.parse(fromFile!)).toEqual(hookInput);
    expect(rest).toEqual([
      '1',
      '0:65534 750 WORK',
      '0:65534 640 WORK/hook.sh',
      '0:65534 640 WORK/input.json',
      '65534:65534 700 WORK/home',
      'note',
      '',
    ]);
  });

  it('leaves nothing behind, whatever the script did to the modes in its home', async () => {
    // Prepare
    const script = [
      'mkdir -p "$HOME/locked/deeper" && echo x > "$HOME/locked/deeper/file"',
      'chmod 000 "$HOME/locked/deeper" && chmod 500 "$HOME/locked"',
      'ln -s / "$HOME/root-link"',
      'echo done',
    ].join('\n');

    // Act
    const result = await asNobody().run(shellHook({ script }), hookInput);

    // Assess
    expect(result).toMatchObject({ status: 'passed', stdout: 'done\n', stderr: '' });
    expect(readdirSync(workRoot)).toEqual([]);
  });

  it('ends in error, naming the folder in the way, when the work root is out of the user’s reach', async () => {
    // Prepare
    const privateRoot = mkdtempSync(join(scratch, 'private-'));

    // Act
    const result = await asNobody({ workRoot: privateRoot }).run(shellHook({ script: 'true' }), hookInput);

    // Assess
    expect(result).toMatchObject({ status: 'error', exitCode: null, stdout: null });
    expect(result.errorMessage).toBe(
      `the work root ${privateRoot} is out of reach for uid 65534, gid 65534: it may not enter ${privateRoot} (mode 700, owner 0:0)`,
    );
    expect(readdirSync(privateRoot)).toEqual([]);
  });

  it('ends in error when the interpreter is out of the user’s reach', async () => {
    // Prepare: a working bash, in a folder only root may enter (like a pyenv under /root).
    const privateBin = mkdtempSync(join(scratch, 'bin-'));
    const bash = join(privateBin, 'bash');
    copyFileSync(execFileSync('sh', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim(), bash);
    chmodSync(bash, 0o755);

    // Act
    const result = await asNobody({ bash }).run(shellHook({ script: 'true' }), hookInput);

    // Assess
    expect(result).toMatchObject({ status: 'error', stdout: null });
    expect(result.errorMessage).toContain(`interpreter ${bash} is out of reach for uid 65534, gid 65534`);
    expect(result.errorMessage).toContain(`it may not enter ${privateBin} (mode 700, owner 0:0)`);
  });

  it('ends in error, naming the reason, when the runner is not root', async () => {
    // Prepare
    const runner = asNobody();
    const seteuid = process.seteuid!;

    // Act: really not root while run() starts; the check comes before its first await.
    seteuid(12345);
    let running: ReturnType<ProcessScriptRunner['run']>;
    try {
      running = runner.run(shellHook({ script: 'echo ran' }), hookInput);
    } finally {
      seteuid(0);
    }
    const result = await running;

    // Assess
    expect(result).toMatchObject({ status: 'error', exitCode: null, stdout: null });
    expect(result.errorMessage).toBe(
      'scripts are set to run as uid 65534, gid 65534, but the runner is not root (it runs as uid 12345): only root can start a process as another user',
    );
    expect(readdirSync(workRoot)).toEqual([]);
  });

  it('gives scripts running side by side users of their own: none can signal the other or read its files', async () => {
    // Prepare: two scripts on two users meet at a barrier, then each tries the other's sleep and input
    const runner = asNobody({ runAsUsers: 2 });
    const barrier = mkdtempSync(join(scratch, 'barrier-'));
    chmodSync(barrier, 0o777);
    const marker = uniqueSleep();
    const script = shellHook({
      script: [
        'id -u; id -g',
        `sleep ${marker} &`,
        // Both alive and at their work before either looks, and until both have looked.
        'meet() { touch "$BARRIER/$1-$(id -u)"; for i in $(seq 100); do [ "$(ls "$BARRIER" | grep -c "^$1-")" -ge 2 ] && break; sleep 0.05; done; }',
        'meet started',
        // Anchored: the other script's pgrep has the marker in its own command line.
        `for pid in $(pgrep -f "^sleep ${marker}"); do echo seen; kill -0 "$pid" 2>/dev/null && echo may-signal; done`,
        'for dir in "$WORK_ROOT"/*/; do echo listed; cat "$dir/input.json" > /dev/null 2>&1 && echo may-read; done',
        'meet looked',
        '{ kill %1; wait; } 2>/dev/null',
      ].join('\n'),
      env: { BARRIER: barrier, WORK_ROOT: workRoot },
    });

    // Act
    const results = await Promise.all([1, 2].map(() => runner.run(script, hookInput)));

    // Assess
    const lines = results.map((r) => r.stdout?.split('\n') ?? []);
    expect(results.map((r) => r.status)).toEqual(['passed', 'passed']);
    expect(lines.map((l) => [Number(l[0]), Number(l[1])])).toEqual([
      [65534, 65534],
      [65533, 65533],
    ]);
    for (const output of lines) {
      const count = (word: string) => output.filter((line) => line === word).length;
      expect([count('seen'), count('may-signal')]).toEqual([2, 1]);
      expect([count('listed'), count('may-read')]).toEqual([2, 1]);
    }
  });

  it('with clearUsers, ends what a script left running or in /tmp before its user runs the next', async () => {
    // Prepare: a script that leaves a process outside its group and a file in /tmp, as a uid kept for
    // this test (clearing kills every process of the uid: never a real account's, nor nobody's here)
    const runner = asNobody({ runAs: { uid: 64_123, gid: 64_123 }, clearUsers: true });
    const marker = uniqueSleep();
    const left = `/tmp/stagehooks-left-${process.pid}-${Date.now()}`;
    const leaving = shellHook({
      script: `setsid sleep ${marker} < /dev/null > /dev/null 2>&1 & touch ${left}`,
    });

    // Act
    const result = await runner.run(leaving, hookInput);

    // Assess
    expect(result.status).toBe('passed');
    for (let i = 0; i < 40 && processesWith(marker).length > 0; i++) await sleep(50);
    expect(processesWith(marker)).toEqual([]);
    expect(existsSync(left)).toBe(false);
  });

  it('refuses more uids than there are below runAs.uid', () => {
    // Act
    const create = () =>
      new ProcessScriptRunner({ sandbox: 'none', runAs: { uid: 2, gid: 2 }, runAsUsers: 3 });

    // Assess
    expect(create).toThrow('invalid script runAsUsers: would go below uid or gid 1 from runAs');
  });

  it.each([
    [{ uid: 0, gid: 65534 }, 'uid: must be a whole number from 1 to 2147483647 (0 is root)'],
    [{ uid: 65534, gid: 0 }, 'gid: must be a whole number from 1 to 2147483647 (0 is root)'],
    [{ uid: -1, gid: 65534 }, 'uid: must be a whole number from 1 to 2147483647 (0 is root)'],
    [{ uid: 1.5, gid: 65534 }, 'uid: must be a whole number from 1 to 2147483647 (0 is root)'],
    [{ uid: 2 ** 31, gid: 65534 }, 'uid: must be a whole number from 1 to 2147483647 (0 is root)'],
    [{ uid: Number.NaN, gid: 65534 }, 'uid: must be a whole number from 1 to 2147483647 (0 is root)'],
    [{ uid: 65534 }, 'gid: is required'],
    [{ uid: 65534, gid: 65534, groups: [0] }, 'groups: is not a known field'],
  ])('refuses runAs %o', (runAs, issue) => {
    // Act
    const create = () => new ProcessScriptRunner({ sandbox: 'none', runAs: runAs as ScriptUser });

    // Assess
    expect(create).toThrow(ValidationError);
    expect(create).toThrow(`invalid script runAs: ${issue}`);
  });
});

describe('ProcessScriptRunner with runAs, sandbox bubblewrap', () => {
  it('runs the script and all it starts as that host uid and gid, which it sees as its own', async () => {
    // Prepare: a uid other than 65534, to tell the host side from the inside.
    const marker = uniqueSleep();
    const runner = new ProcessScriptRunner({
      sandbox: 'bubblewrap',
      runAs: { uid: 4242, gid: 4243 },
      workRoot,
    });
    let done = false;

    // Act
    const run = runner
      .run(shellHook({ script: `id -u; id -g; sleep ${marker}`, timeoutSeconds: 2 }), hookInput)
      .finally(() => {
        done = true;
      });
    const hostIds = new Set<string>();
    while (!done && hostIds.size === 0) {
      for (const pid of processesWith(marker)) {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        hostIds.add(`${status.match(/^Uid:\s+(\d+)/m)?.[1]}:${status.match(/^Gid:\s+(\d+)/m)?.[1]}`);
      }
      await sleep(25);
    }
    const result = await run;

    // Assess
    expect([...hostIds]).toEqual(['4242:4243']);
    expect(result).toMatchObject({ status: 'timed_out', stdout: '4242\n4243\n' });
    expect(processesWith(marker)).toEqual([]);
    expect(readdirSync(workRoot)).toEqual([]);
  });
});
