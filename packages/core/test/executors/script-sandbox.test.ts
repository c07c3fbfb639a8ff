import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HookCreate, MAX_ENV_BYTES, MAX_ENV_ENTRIES, safeParseFields } from '@stagehooks/core/domain';
import { ProcessScriptRunner, resolveScriptSandbox } from '@stagehooks/core/executors/script';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookInput, processesWith, pythonHook, shellHook } from './script-fixtures';

// Not skipped when bwrap is missing: CI installs bubblewrap, and the runner's constructor then fails
// every test here with "bwrap is not on PATH: install bubblewrap".
let scratch: string;
let sandboxed: ProcessScriptRunner;
let listener: Server;
let listenerPort: number;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'stagehooks-sandbox-test-'));
  sandboxed = new ProcessScriptRunner({ sandbox: 'bubblewrap' });
  listener = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('the listener has no TCP port');
  listenerPort = address.port;
});

afterAll(async () => {
  await new Promise((resolve) => listener.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

const connect = (host: string, port: string) =>
  pythonHook({
    args: [host, port],
    script: [
      'import socket, sys',
      'try:',
      '    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()',
      '    print("connected")',
      'except OSError as error:',
      '    print(f"no connection: {error}")',
    ].join('\n'),
  });

describe('resolveScriptSandbox', () => {
  it('picks bubblewrap for auto when bwrap is on PATH', () => {
    // Act
    const active = resolveScriptSandbox('auto');

    // Assess
    expect(active).toMatchObject({ mode: 'bubblewrap', warning: null });
    expect(active.bwrapPath).toMatch(/\/bwrap$/);
    expect(active.prlimitPath).toMatch(/\/prlimit$/);
  });

  it('falls back to a plain subprocess for auto without bwrap, with a one-line warning', () => {
    // Act
    const active = resolveScriptSandbox('auto', '/nonexistent');

    // Assess
    expect(active).toMatchObject({ mode: 'none', bwrapPath: null });
    expect(active.warning).toContain('bwrap is not on PATH');
    expect(active.warning).not.toContain('\n');
  });

  it('refuses to run without bwrap when bubblewrap is required', () => {
    // Act
    const resolve = () => resolveScriptSandbox('bubblewrap', '/nonexistent');

    // Assess
    expect(resolve).toThrow('install bubblewrap');
  });

  it('does not warn when the sandbox is switched off on purpose', () => {
    // Act
    const active = resolveScriptSandbox('none');

    // Assess
    expect(active).toMatchObject({ mode: 'none', bwrapPath: null, warning: null });
  });
});

describe('bubblewrap sandbox', () => {
  it('has no network: neither the internet nor a port on the host loopback', async () => {
    // Prepare: the same script reaches the host listener when not sandboxed.
    const port = String(listenerPort);
    const unsandboxed = await new ProcessScriptRunner({ sandbox: 'none' }).run(
      connect('127.0.0.1', port),
      hookInput,
    );
    expect(unsandboxed.stdout).toBe('connected\n');

    // Act
    const internet = await sandboxed.run(connect('1.1.1.1', '53'), hookInput);
    const hostLoopback = await sandboxed.run(connect('127.0.0.1', port), hookInput);

    // Assess
    expect(internet.stdout).toMatch(/^no connection: /);
    expect(hostLoopback.stdout).toMatch(/^no connection: /);
  });

  it('shows no host files: not the project, homes, /etc/passwd or the host /tmp', async () => {
    // Prepare
    const hostFile = join(scratch, 'host-only');
    writeFileSync(hostFile, 'host');
    const paths = [process.cwd(), hostFile, '/work', '/home', '/root', '/etc/passwd', '/etc/hostname'].filter(
      (path) => existsSync(path),
    );
    expect(paths).toContain(hostFile);

    // Act
    const result = await sandboxed.run(
      shellHook({
        script: 'for p in "$@"; do if [ -e "$p" ]; then echo "visible: $p"; fi; done',
        args: paths,
      }),
      hookInput,
    );

    // Assess
    expect(result).toMatchObject({ status: 'passed', stdout: '', stderr: '' });
  });

  it('runs as uid and gid 65534 without capabilities', async () => {
    // Act
    const result = await sandboxed.run(
      shellHook({ script: 'id -u; id -g; grep CapEff /proc/self/status' }),
      hookInput,
    );

    // Assess
    expect(result.stdout).toBe('65534\n65534\nCapEff:\t0000000000000000\n');
  });

  it('gives a writable /tmp, while the work folder and system folders stay read-only', async () => {
    // Prepare
    const script = [
      'echo note > /tmp/note && cat /tmp/note',
      'pwd',
      'touch /tmp/hook/extra 2>/dev/null && echo work-folder-writable',
      'touch /usr/extra 2>/dev/null && echo usr-writable',
      'true',
    ].join('\n');

    // Act
    const result = await sandboxed.run(shellHook({ script }), hookInput);

    // Assess
    expect(result).toMatchObject({ status: 'passed', stdout: 'note\n/tmp\n' });
  });

  it('sees only its own processes', async () => {
    // Act
    const result = await sandboxed.run(shellHook({ script: "ls /proc | grep -c '^[0-9]'" }), hookInput);

    // Assess: bwrap's init, bash, ls, grep, and the pipeline's subshells at most.
    expect(Number(result.stdout)).toBeLessThan(8);
  });

  it('keeps hook environment values off the host process list', async () => {
    // Prepare: bwrap's command line names the work folder, so polling can tell it saw the run.
    const workRoot = mkdtempSync(join(scratch, 'work-'));
    const secret = `sekrit-${process.pid}-${Date.now()}`;
    const runner = new ProcessScriptRunner({ sandbox: 'bubblewrap', workRoot });
    let done = false;

    // Act
    const run = runner
      .run(shellHook({ script: 'sleep 0.5; echo "$API_TOKEN"', env: { API_TOKEN: secret } }), hookInput)
      .finally(() => {
        done = true;
      });
    let sawRun = false;
    const leaks: number[] = [];
    while (!done) {
      sawRun ||= processesWith(workRoot).length > 0;
      leaks.push(...processesWith(secret));
      await sleep(25);
    }
    const result = await run;

    // Assess
    expect(result.stdout).toBe(`${secret}\n`);
    expect(sawRun).toBe(true);
    expect(leaks).toEqual([]);
  });

  it('starts a script with the most environment and arguments a hook may be saved with', async () => {
    // Prepare: 256 variables of 32 KiB in all, and 64 arguments of 4 KiB; the save-time rules accept it
    const valueBytes = MAX_ENV_BYTES / MAX_ENV_ENTRIES - 4;
    const env = Object.fromEntries(
      Array.from({ length: MAX_ENV_ENTRIES }, (_, i) => [
        `V${String(i).padStart(3, '0')}`,
        'v'.repeat(valueBytes),
      ]),
    );
    const config = {
      script: 'env | grep -c "^V[0-9]*=v"; echo "$#"',
      env,
      args: Array.from({ length: 64 }, () => 'a'.repeat(4096)),
    };
    const saved = safeParseFields(HookCreate, {
      name: 'most_env',
      type: 'shell',
      hookPoint: 'post_segment',
      scopeType: 'studio',
      config,
    });
    expect(saved).toMatchObject({ success: true });

    // Act
    const result = await sandboxed.run(shellHook(config), hookInput);

    // Assess
    expect(result).toMatchObject({ status: 'passed', stdout: `${MAX_ENV_ENTRIES}\n64\n` });
  });

  it('enforces the memory limit inside the sandbox', async () => {
    // Act
    const result = await new ProcessScriptRunner({ sandbox: 'bubblewrap', limits: { memoryMiB: 128 } }).run(
      pythonHook({ script: 'block = bytearray(256 * 1024 * 1024)\nprint("allocated")' }),
      hookInput,
    );

    // Assess
    expect(result.status).toBe('failed');
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('MemoryError');
  });
});
