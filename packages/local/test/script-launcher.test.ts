import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAPTURE_LIMIT_BYTES } from '@stagehooks/core/domain';
import { ProcessScriptRunner } from '@stagehooks/core/executors/script';
import { groupsNaming, ScriptLauncher } from '@stagehooks/local/script-launcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hookInput,
  isRunning,
  processesWith,
  shellHook,
  uniqueSleep,
} from '../../core/test/executors/script-fixtures';

const MiB = 1024 * 1024;

let scratch: string;
let launcher: ScriptLauncher;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'stagehooks-launcher-test-'));
  launcher = await ScriptLauncher.start(join(scratch, 'run'));
});

afterAll(async () => {
  await launcher.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The launcher processes started from this test's bundle. */
const launcherPids = () => processesWith(join(scratch, 'run', 'script-launcher.mjs'));

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// The runner's contract (script-runner.test.ts) through the launcher: what crosses the IPC channel
// (fd 3 for bwrap, the captured output, the signal, the timeout) arrives as it would in-process.
describe.each(['none', 'bubblewrap'] as const)(
  'ProcessScriptRunner through the launcher, sandbox %s',
  (sandbox) => {
    const runner = () => new ProcessScriptRunner({ sandbox, launcher });

    it('runs in a process of its own, not a child of the stack process', async () => {
      // Act
      const result = await runner().run(
        shellHook({ script: 'echo "parent=$PPID"; echo oops >&2' }),
        hookInput,
      );

      // Assess
      expect(result).toMatchObject({ status: 'passed', exitCode: 0, stderr: 'oops\n' });
      const parent = Number(/parent=(\d+)/.exec(result.stdout ?? '')?.[1]);
      expect(parent).not.toBe(process.pid);
      if (sandbox === 'none') expect(launcherPids()).toContain(parent);
    });

    it('passes the hook environment and the input (fd 3 carries it into bwrap)', async () => {
      // Act
      const result = await runner().run(
        shellHook({
          script: 'echo "$GREETING"; cat; echo; cat "$STAGEHOOKS_INPUT_FILE"',
          env: { GREETING: 'héllo' },
        }),
        hookInput,
      );

      // Assess
      const [greeting, fromStdin, fromFile] = (result.stdout ?? '').trim().split('\n');
      expect(greeting).toBe('héllo');
      expect(JSON.parse(fromStdin!)).toEqual(hookInput);
      expect(JSON.parse(fromFile!)).toEqual(hookInput);
    });

    it('reports a death by signal, and the last-line result', async () => {
      // Act
      const killed = await runner().run(shellHook({ script: 'kill -TERM $$' }), hookInput);
      const verdict = await runner().run(
        shellHook({ script: 'echo \'{"status":"failed","message":"too dark"}\'' }),
        hookInput,
      );

      // Assess
      expect(killed).toMatchObject({ status: 'failed', exitCode: 143 });
      expect(killed.errorMessage).toContain('SIGTERM');
      expect(verdict).toMatchObject({ status: 'failed', exitCode: 0, message: 'too dark' });
    });

    it('keeps 64 KiB of a 1 MiB stdout and still reads the last line', async () => {
      // Act
      const result = await runner().run(
        shellHook({
          script: `head -c ${MiB} /dev/zero | tr '\\0' x; echo; echo '{"status":"passed","message":"end"}'`,
        }),
        hookInput,
      );

      // Assess
      expect(result).toMatchObject({ status: 'passed', truncated: true, message: 'end' });
      expect(Buffer.byteLength(result.stdout ?? '')).toBe(CAPTURE_LIMIT_BYTES);
    });

    it('on timeout, kills the whole process group, backgrounded children included', async () => {
      // Prepare
      const marker = uniqueSleep();

      // Act
      const result = await runner().run(
        shellHook({ script: `sleep ${marker} &\nsleep ${marker}\n`, timeoutSeconds: 1 }),
        hookInput,
      );

      // Assess
      expect(result).toMatchObject({ status: 'timed_out', exitCode: null });
      expect(processesWith(marker)).toEqual([]);
    });
  },
);

describe('ScriptLauncher', () => {
  it('ends the runs of a launcher that died in error, kills their scripts, and starts a new one', async () => {
    // Prepare
    const own = await ScriptLauncher.start(join(scratch, 'own'));
    const runner = new ProcessScriptRunner({ sandbox: 'none', launcher: own });
    const marker = uniqueSleep();
    const running = runner.run(shellHook({ script: `sleep ${marker} &\nsleep ${marker}\n` }), hookInput);
    await until(() => processesWith(marker).length === 2);
    const [first] = processesWith(join(scratch, 'own', 'script-launcher.mjs'));

    // Act
    process.kill(first!, 'SIGKILL');
    const result = await running;

    // Assess
    expect(result).toMatchObject({ status: 'error', exitCode: null });
    expect(result.errorMessage).toBe('the script launcher failed: it exited (SIGKILL) while the script ran');
    await until(() => processesWith(marker).length === 0);
    const next = await runner.run(shellHook({ script: 'echo again' }), hookInput);
    expect(next).toMatchObject({ status: 'passed', stdout: 'again\n' });
    const [second] = processesWith(join(scratch, 'own', 'script-launcher.mjs'));
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    await own.close();
  });

  it('close() stops the launcher and what still runs; later runs end in error', async () => {
    // Prepare
    const own = await ScriptLauncher.start(join(scratch, 'closing'));
    const runner = new ProcessScriptRunner({ sandbox: 'none', launcher: own });
    const marker = uniqueSleep();
    const running = runner.run(shellHook({ script: `sleep ${marker}` }), hookInput);
    await until(() => processesWith(marker).length === 1);
    const [pid] = processesWith(join(scratch, 'closing', 'script-launcher.mjs'));

    // Act: twice, as a stop path may
    await Promise.all([own.close(), own.close()]);
    await own.close();

    // Assess
    expect(await running).toMatchObject({
      status: 'error',
      errorMessage: 'the local stack stopped while the script ran; its process group was killed',
    });
    // SIGKILL is sent by then; a loaded machine may take a moment to schedule the exits.
    await until(() => processesWith(marker).length === 0 && !isRunning(pid!));
    const after = await runner.run(shellHook({ script: 'true' }), hookInput);
    expect(after).toMatchObject({ status: 'error', errorMessage: 'the script launcher is closed' });
  });

  it('reports a command it cannot start as the runner does in-process', async () => {
    // Act
    const missingCwd = await launcher
      .run({
        command: '/bin/true',
        args: [],
        env: {},
        cwd: join(scratch, 'no-such-folder'),
        stdinFile: '/dev/null',
        timeoutMs: 1_000,
        captureBytes: 1024,
        user: null,
      })
      .catch((error: unknown) => error);

    // Assess
    expect(missingCwd).toBeInstanceOf(Error);
    expect((missingCwd as Error).message).toBe('could not start /bin/true');
    expect((missingCwd as Error).cause).toBeInstanceOf(Error);
    expect(((missingCwd as Error).cause as Error).message).toContain('ENOENT');
  });

  it('finds the groups of a run by its folder when the launcher died before reporting them', async () => {
    // Prepare: a run's leader naming its folder, a process in its group that does not, another folder
    const folder = mkdtempSync(join(scratch, 'stagehooks-run-'));
    const other = mkdtempSync(join(scratch, 'stagehooks-run-'));
    const marker = uniqueSleep();
    writeFileSync(join(folder, 'hook.sh'), `sleep ${marker} &\nsleep ${marker}\n`);
    writeFileSync(join(other, 'hook.sh'), `sleep ${marker}\n`);
    const leader = spawn('bash', [join(folder, 'hook.sh')], { detached: true, stdio: 'ignore' });
    const bystander = spawn('bash', [join(other, 'hook.sh')], { detached: true, stdio: 'ignore' });
    await until(() => processesWith(marker).length === 3);

    // Act
    const found = groupsNaming(folder);

    // Assess
    expect(found).toEqual([leader.pid]);
    expect(groupsNaming(join(scratch, 'nothing-here'))).toEqual([]);
    for (const pid of [leader.pid!, bystander.pid!]) process.kill(-pid, 'SIGKILL');
    await until(() => processesWith(marker).length === 0);
  });
});
