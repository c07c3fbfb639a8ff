import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLocalConfig } from '@stagehooks/local/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localScriptUsers } from '../src/stack/script-users';

// These tests run as root, the case where the stack switches users.
let scratch: string;
let config: ReturnType<typeof loadLocalConfig>;

beforeAll(() => {
  expect(process.geteuid?.()).toBe(0);
  scratch = mkdtempSync(join(tmpdir(), 'stagehooks-script-users-test-'));
  chmodSync(scratch, 0o755);
  config = loadLocalConfig({ STAGEHOOKS_HOME: join(scratch, 'home'), STAGEHOOKS_SCRIPT_USERS: '4' });
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('localScriptUsers, for a stack running as root', () => {
  it('runs sandboxed scripts as the script users, whatever they can reach', async () => {
    const users = await localScriptUsers(config, { mode: 'bubblewrap' }, '/nowhere');
    expect(users).toEqual({ options: { runAs: { uid: 65534, gid: 65534 }, runAsUsers: 4 }, warning: null });
  });

  it('runs unsandboxed scripts as the script users when they reach bash and python3', async () => {
    const users = await localScriptUsers(config, { mode: 'none' }, '/usr/bin:/bin');
    expect(users.options).toEqual({ runAs: { uid: 65534, gid: 65534 }, runAsUsers: 4 });
  });

  it('keeps unsandboxed scripts as root, with a warning naming why, when python3 is out of their reach', async () => {
    // Prepare: a python3 (a copy of bash will do: it is only looked at) in a folder only root enters
    const closed = join(scratch, 'closed');
    mkdirSync(join(closed, 'bin'), { recursive: true, mode: 0o700 });
    chmodSync(closed, 0o700);
    copyFileSync('/bin/bash', join(closed, 'bin', 'python3'));
    chmodSync(join(closed, 'bin', 'python3'), 0o755);

    // Act
    const users = await localScriptUsers(config, { mode: 'none' }, `${join(closed, 'bin')}:/usr/bin`);

    // Assess
    expect(users.options).toEqual({});
    expect(users.warning).toMatch(
      new RegExp(
        `^script hooks run unsandboxed as root, without a process limit: python3 .* is out of reach for uid 65534, gid 65534: it may not enter ${closed} `,
      ),
    );
  });
});
