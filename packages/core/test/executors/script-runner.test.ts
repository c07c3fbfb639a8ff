import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAPTURE_LIMIT_BYTES } from '@stagehooks/core/domain';
import { DirectoryScriptStore, ProcessScriptRunner } from '@stagehooks/core/executors/script';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hookInput,
  isRunning,
  nobody,
  processesWith,
  pythonFor,
  pythonHook,
  shellHook,
  uniqueSleep,
} from './script-fixtures';

const MiB = 1024 * 1024;
const canaries = { STAGEHOOKS_TEST_CANARY: 'canary-b9f1', AWS_SECRET_ACCESS_KEY: 'canary-aws-2c7e' };

let scratch: string;
let venvsRoot: string;
/** The runAs variant's interpreter and venvs, which its user can reach. */
let nobodysPython: string;
let nobodysVenvsRoot: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'stagehooks-script-test-'));
  // The runAs variant's scripts must reach the venvs in here.
  chmodSync(scratch, 0o755);
  venvsRoot = join(scratch, 'venvs');
  // A real venv, without pip so it takes a fraction of a second.
  execFileSync('python3', ['-m', 'venv', '--without-pip', join(venvsRoot, 'tools')]);
  nobodysPython = pythonFor(nobody);
  nobodysVenvsRoot = join(scratch, 'nobodys-venvs');
  execFileSync(nobodysPython, ['-m', 'venv', '--without-pip', join(nobodysVenvsRoot, 'tools')]);
  mkdirSync(join(scratch, 'store', 'checks'), { recursive: true });
  writeFileSync(join(scratch, 'store', 'checks', 'lint.sh'), 'echo "linted $1"\n');
  // What a leak would carry: credentials in the runner's own environment.
  Object.assign(process.env, canaries);
});

afterAll(() => {
  for (const name of Object.keys(canaries)) delete process.env[name];
  rmSync(scratch, { recursive: true, force: true });
});

// The same contract in every mode; bubblewrap is installed wherever these tests run (CI installs it),
// and the runner refuses to start without it, so a missing bwrap fails here with its install hint.
// runAs needs a root runner: these tests run as root (script-run-as.test.ts checks the refusal).
describe.each([
  { label: 'none', sandbox: 'none' },
  { label: 'bubblewrap', sandbox: 'bubblewrap' },
  { label: 'none, runAs 65534', sandbox: 'none', runAs: nobody },
  { label: 'bubblewrap, runAs 65534', sandbox: 'bubblewrap', runAs: nobody },
] as const)('ProcessScriptRunner, sandbox $label', ({ sandbox, ...variant }) => {
  const runAs = 'runAs' in variant ? variant.runAs : undefined;
  const venvs = () => (runAs ? nobodysVenvsRoot : venvsRoot);
  const runner = (options: ConstructorParameters<typeof ProcessScriptRunner>[0] = {}) =>
    new ProcessScriptRunner({
      sandbox,
      runAs,
      venvsRoot: venvs(),
      ...(runAs && { python: nobodysPython }),
      scriptStore: new DirectoryScriptStore(join(scratch, 'store')),
      ...options,
    });

  describe('exit status', () => {
    it('passes on exit 0 and keeps stdout and stderr apart', async () => {
      // Prepare
      const hook = shellHook({ script: 'echo out; echo err >&2' });

      // Act
      const result = await runner().run(hook, hookInput);

      // Assess
      expect(result).toMatchObject({
        status: 'passed',
        exitCode: 0,
        stdout: 'out\n',
        stderr: 'err\n',
        errorMessage: null,
        responseStatus: null,
        responseBody: null,
        truncated: false,
      });
      expect(Date.parse(result.finishedAt)).toBeGreaterThanOrEqual(Date.parse(result.startedAt));
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('fails on a non-zero exit code', async () => {
      // Act
      const result = await runner().run(shellHook({ script: 'exit 3' }), hookInput);

      // Assess
      expect(result).toMatchObject({ status: 'failed', exitCode: 3, errorMessage: null });
    });

    it('fails a script killed by a signal, with exit code 128 + n and the signal named', async () => {
      // Act
      const result = await runner().run(shellHook({ script: 'echo before; kill -SEGV $$' }), hookInput);

      // Assess
      expect(result.status).toBe('failed');
      expect(result.exitCode).toBe(128 + 11);
      expect(result.errorMessage).toContain('SIGSEGV');
      expect(result.stdout).toBe('before\n');
    });
  });

  describe('last-line JSON result', () => {
    it('turns exit 0 into failed, with message and data', async () => {
      // Prepare
      const hook = shellHook({
        script: `echo 'checking'\necho '{"status":"failed","message":"too dark","data":{"luma":0.1}}'\necho\n`,
      });

      // Act
      const result = await runner().run(hook, hookInput);

      // Assess
      expect(result).toMatchObject({
        status: 'failed',
        exitCode: 0,
        message: 'too dark',
        data: { luma: 0.1 },
      });
    });

    it('turns a non-zero exit into passed', async () => {
      // Act
      const result = await runner().run(
        shellHook({ script: `echo '{"status":"passed","message":"close enough"}'; exit 1` }),
        hookInput,
      );

      // Assess
      expect(result).toMatchObject({ status: 'passed', exitCode: 1, message: 'close enough' });
      expect(result).not.toHaveProperty('data');
    });

    it('hands data and a patch on, with the exit code deciding when the report gives no status', async () => {
      // Prepare
      const patch = '{"segmentPath":"/media/graded.mp4","metadata":{"graded":true,"draft":null}}';
      const passing = shellHook({ script: `echo '{"data":{"k":1},"patch":${patch}}'` });
      const failing = shellHook({ script: `echo '{"data":{"k":2},"patch":${patch}}'; exit 1` });

      // Act
      const passed = await runner().run(passing, hookInput);
      const failed = await runner().run(failing, hookInput);

      // Assess
      const expected = { segmentPath: '/media/graded.mp4', metadata: { graded: true, draft: null } };
      expect(passed).toMatchObject({ status: 'passed', exitCode: 0, data: { k: 1 }, patch: expected });
      expect(failed).toMatchObject({ status: 'failed', exitCode: 1, data: { k: 2 }, patch: expected });
    });

    it('hands on, unchecked, what a python script reports (the engine checks it)', async () => {
      // Act
      const result = await runner().run(
        pythonHook({ script: 'import json\nprint(json.dumps({"data": 5, "patch": {"unknown": 1}}))' }),
        hookInput,
      );

      // Assess
      expect(result).toMatchObject({ status: 'passed', data: 5, patch: { unknown: 1 } });
    });

    it('fails a report nested deeper than a report may, naming the bound and keeping stdout', async () => {
      // Prepare: data 33 levels deep, in a report of 34
      const line = `{"data":${'{"a":'.repeat(33)}1${'}'.repeat(33)}}`;

      // Act
      const result = await runner().run(shellHook({ script: `echo '${line}'` }), hookInput);

      // Assess
      expect(result).toMatchObject({
        status: 'failed',
        exitCode: 0,
        errorMessage:
          "the last stdout line nests more than 33 levels deep: a result's data and patch may nest 32",
      });
      expect(result.stdout).toContain(line);
      expect(result).not.toHaveProperty('data');
    });

    it('ignores JSON that is not the last line or not a result', async () => {
      // Act
      const earlier = await runner().run(
        shellHook({ script: `echo '{"status":"failed"}'; echo done` }),
        hookInput,
      );
      const other = await runner().run(shellHook({ script: `echo '{"status":"ok"}'` }), hookInput);

      // Assess
      expect(earlier).toMatchObject({ status: 'passed' });
      expect(earlier).not.toHaveProperty('message');
      expect(other).toMatchObject({ status: 'passed' });
    });
  });

  describe('input, environment, arguments', () => {
    it('gives the hook input on stdin and in STAGEHOOKS_INPUT_FILE', async () => {
      // Prepare
      const hook = shellHook({
        script: 'stdin=$(cat)\nprintf "%s\\n" "$stdin"\ncat "$STAGEHOOKS_INPUT_FILE"\n',
      });

      // Act
      const result = await runner().run(hook, hookInput);

      // Assess
      const [fromStdin, fromFile] = (result.stdout ?? '').trim().split('\n');
      expect(JSON.parse(fromStdin!)).toEqual(hookInput);
      expect(JSON.parse(fromFile!)).toEqual(hookInput);
    });

    it('builds the environment from scratch: config.env and STAGEHOOKS_*, never the runner’s own', async () => {
      // Prepare
      const hook = shellHook({ script: 'env', env: { GRADE_PROFILE: 'rec709 warm' } });

      // Act
      const result = await runner().run(hook, hookInput);

      // Assess
      const env = Object.fromEntries(
        (result.stdout ?? '')
          .trim()
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      expect(env).toMatchObject({
        GRADE_PROFILE: 'rec709 warm',
        STAGEHOOKS_HOOK_POINT: 'post_segment',
        STAGEHOOKS_JOB_ID: 'job-42',
        PATH: '/usr/local/bin:/usr/bin:/bin',
        LANG: 'C.UTF-8',
      });
      expect(env.STAGEHOOKS_INPUT_FILE).toMatch(/\/input\.json$/);
      // Only what the runner sets, plus what bash itself adds.
      const expected = ['GRADE_PROFILE', 'HOME', 'LANG', 'PATH', 'PWD', 'SHLVL', 'TMPDIR', '_'];
      expected.push('STAGEHOOKS_HOOK_POINT', 'STAGEHOOKS_INPUT_FILE', 'STAGEHOOKS_JOB_ID');
      expect(Object.keys(env).sort()).toEqual(expected.sort());
      for (const value of Object.values(canaries)) expect(result.stdout).not.toContain(value);
    });

    it('passes config.args as they are, without shell expansion', async () => {
      // Act
      const result = await runner().run(
        shellHook({ script: 'printf "[%s]\\n" "$@"', args: ['a b', '--dry-run', '$HOME', ''] }),
        hookInput,
      );

      // Assess
      expect(result.stdout).toBe('[a b]\n[--dry-run]\n[$HOME]\n[]\n');
    });

    it('loads config.scriptPath from the script store', async () => {
      // Act
      const result = await runner().run(
        shellHook({ scriptPath: 'checks/lint.sh', args: ['seg-3'] }),
        hookInput,
      );

      // Assess
      expect(result).toMatchObject({ status: 'passed', stdout: 'linted seg-3\n' });
    });

    it('ends in error when the script is not in the store, or there is no store', async () => {
      // Act
      const missing = await runner().run(shellHook({ scriptPath: 'checks/nope.sh' }), hookInput);
      const noStore = await new ProcessScriptRunner({ sandbox, runAs }).run(
        shellHook({ scriptPath: 'checks/lint.sh' }),
        hookInput,
      );

      // Assess
      expect(missing).toMatchObject({ status: 'error', exitCode: null, stdout: null });
      expect(missing.errorMessage).toBe('script checks/nope.sh not found');
      expect(noStore.status).toBe('error');
      expect(noStore.errorMessage).toContain('no script store');
    });
  });

  describe('python', () => {
    it('runs python hooks with their args and input', async () => {
      // Prepare
      const hook = pythonHook({
        script: [
          'import json, os, sys',
          'data = json.load(sys.stdin)',
          'print(json.dumps({"status": "passed", "data": {"job": data["jobId"], "args": sys.argv[1:],',
          '  "title": data["sceneContext"]["title"], "point": os.environ["STAGEHOOKS_HOOK_POINT"]}}))',
        ].join('\n'),
        args: ['--fast'],
      });

      // Act
      const result = await runner().run(hook, hookInput);

      // Assess
      expect(result).toMatchObject({
        status: 'passed',
        exitCode: 0,
        data: { job: 'job-42', args: ['--fast'], title: 'été', point: 'post_segment' },
      });
    });

    it('runs in the venv named by config.venv', async () => {
      // Act
      const result = await runner().run(
        pythonHook({ script: 'import sys; print(sys.prefix)', venv: 'tools' }),
        hookInput,
      );

      // Assess
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`${realpathSync(join(venvs(), 'tools'))}\n`);
    });

    it('ends in error for a missing venv, or a venv without a venvs root', async () => {
      // Act
      const missing = await runner().run(pythonHook({ script: 'pass', venv: 'nope' }), hookInput);
      const noRoot = await new ProcessScriptRunner({ sandbox, runAs }).run(
        pythonHook({ script: 'pass', venv: 'tools' }),
        hookInput,
      );

      // Assess
      expect(missing.status).toBe('error');
      expect(missing.errorMessage).toContain('python venv "nope" not found');
      expect(noRoot.status).toBe('error');
      expect(noRoot.errorMessage).toContain('no venvs root');
    });
  });

  describe('output capture', () => {
    it('keeps 64 KiB of a 1 MiB stdout, drains the rest, and still reads the last line', async () => {
      // Prepare
      const hook = shellHook({
        script: `head -c ${MiB} /dev/zero | tr '\\0' a\necho\necho '{"status":"failed","message":"late verdict"}'\n`,
      });

      // Act
      const result = await runner().run(hook, hookInput);

      // Assess
      expect(result.stdout).toHaveLength(CAPTURE_LIMIT_BYTES);
      expect(result.truncated).toBe(true);
      expect(result).toMatchObject({ status: 'failed', exitCode: 0, message: 'late verdict' });
    });

    it('bounds stderr too, and never cuts a character in half', async () => {
      // Prepare: one ASCII byte, then 2-byte characters, so the 64 KiB boundary falls inside one.
      const hook = shellHook({ script: `printf x >&2\nyes é | head -n 40000 | tr -d '\\n' >&2\n` });

      // Act
      const result = await runner().run(hook, hookInput);

      // Assess
      expect(result.status).toBe('passed');
      expect(result.truncated).toBe(true);
      expect(Buffer.byteLength(result.stderr ?? '')).toBe(CAPTURE_LIMIT_BYTES - 1);
      expect(result.stderr).not.toContain('\uFFFD');
      expect(result.stdout).toBe('');
    });
  });

  describe('process lifetime', () => {
    it('on timeout, kills the whole process group, backgrounded children included', async () => {
      // Prepare
      const marker = uniqueSleep();
      const hook = shellHook({ script: `sleep ${marker} &\necho $!\nsleep ${marker}\n`, timeoutSeconds: 1 });

      // Act
      const result = await runner().run(hook, hookInput);

      // Assess
      expect(result).toMatchObject({ status: 'timed_out', exitCode: null });
      expect(result.errorMessage).toContain('1 s');
      expect(result.durationMs).toBeLessThan(3_000);
      expect(processesWith(marker)).toEqual([]);
      // The child's pid only means something on the host (a sandbox has its own pid namespace).
      const child = Number(result.stdout);
      expect(child).toBeGreaterThan(1);
      if (sandbox === 'none') expect(isRunning(child)).toBe(false);
    });

    it('leaves no descendant behind after a normal exit', async () => {
      // Prepare
      const marker = uniqueSleep();

      // Act
      const result = await runner().run(
        shellHook({ script: `sleep ${marker} >/dev/null 2>&1 &\necho started` }),
        hookInput,
      );

      // Assess
      expect(result).toMatchObject({ status: 'passed', stdout: 'started\n' });
      expect(processesWith(marker)).toEqual([]);
    });

    it('removes the per-run work folder', async () => {
      // Prepare
      const workRoot = mkdtempSync(join(scratch, 'work-'));
      chmodSync(workRoot, 0o755);

      // Act
      const passed = await runner({ workRoot }).run(
        shellHook({ script: 'echo hi > "$HOME/note"' }),
        hookInput,
      );
      const timedOut = await runner({ workRoot }).run(
        shellHook({ script: 'sleep 10', timeoutSeconds: 1 }),
        hookInput,
      );

      // Assess
      expect([passed.status, timedOut.status]).toEqual(['passed', 'timed_out']);
      expect(readdirSync(workRoot)).toEqual([]);
    });
  });

  describe('limits', () => {
    it('stops a python script that allocates over the memory limit', async () => {
      // Act
      const result = await runner({ limits: { memoryMiB: 256 } }).run(
        pythonHook({ script: 'block = bytearray(512 * 1024 * 1024)\nprint("allocated")' }),
        hookInput,
      );

      // Assess
      expect(result.status).toBe('failed');
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('MemoryError');
    });

    it('limits a shell script and what it starts, which cannot raise the limits again', async () => {
      // Act: the child inherits the address-space limit; raising a hard limit is refused
      const result = await runner({ limits: { memoryMiB: 256, cpuSeconds: 7 } }).run(
        shellHook({
          script: [
            'echo "as=$(ulimit -H -v) cpu=$(ulimit -S -t)/$(ulimit -H -t) core=$(ulimit -c)"',
            'ulimit -H -v unlimited 2>/dev/null && echo raised || echo refused',
            'python3 -c "bytearray(512 * 1024 * 1024)" 2>&1 | tail -1',
          ].join('\n'),
        }),
        hookInput,
      );

      // Assess
      expect(result.stdout?.split('\n')).toEqual([
        `as=${256 * 1024} cpu=7/8 core=0`,
        'refused',
        'MemoryError',
        '',
      ]);
    });

    it('keeps the line numbers bash reports the script’s own', async () => {
      const result = await runner().run(shellHook({ script: 'true\nno_such_command_here\n' }), hookInput);
      expect(result.stderr).toMatch(/line 2: no_such_command_here: command not found/);
    });

    it('stops a script that spins past the CPU limit', async () => {
      // Act
      const result = await runner({ limits: { cpuSeconds: 1 } }).run(
        shellHook({ script: 'while :; do :; done' }),
        hookInput,
      );

      // Assess
      expect(result.status).toBe('failed');
      expect(result.errorMessage).toContain('SIGXCPU');
    });
  });

  describe('runner problems end in status error, never a throw', () => {
    it('reports a missing bash or python interpreter', async () => {
      // Act
      const bash = await runner({ bash: '/nonexistent/bash' }).run(shellHook({ script: 'true' }), hookInput);
      const python = await runner({ python: 'python-stagehooks-missing' }).run(
        pythonHook({ script: 'pass' }),
        hookInput,
      );

      // Assess
      expect(bash).toMatchObject({ status: 'error', exitCode: null, stdout: null, stderr: null });
      expect(bash.errorMessage).toContain('bash interpreter "/nonexistent/bash" not found');
      expect(python.status).toBe('error');
      expect(python.errorMessage).toContain(
        'python interpreter "python-stagehooks-missing" could not be started',
      );
    });

    it('refuses a NUL character in config.env, which would split a bwrap argument', async () => {
      // Act
      const result = await runner().run(
        shellHook({ script: 'env', env: { GRADE: 'x\u0000--bind\u0000/\u0000/' } }),
        hookInput,
      );

      // Assess
      expect(result).toMatchObject({ status: 'error', stdout: null });
      expect(result.errorMessage).toBe('config.env.GRADE contains a NUL character');
    });

    it('reports a work root it cannot create folders in', async () => {
      // Prepare: a file where a folder should be (root ignores permission bits, not this).
      const notAFolder = join(scratch, `not-a-folder-${sandbox}`);
      writeFileSync(notAFolder, '');

      // Act
      const result = await runner({ workRoot: notAFolder }).run(shellHook({ script: 'true' }), hookInput);

      // Assess
      expect(result.status).toBe('error');
      expect(result.errorMessage).toContain('could not create a work folder');
    });
  });
});
