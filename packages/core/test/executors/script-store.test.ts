import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, StoreError, ValidationError } from '@stagehooks/core/errors';
import { DirectoryScriptStore } from '@stagehooks/core/executors/script';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let scratch: string;
let store: DirectoryScriptStore;

beforeAll(() => {
  // scratch/
  //   secret.sh                  outside the store
  //   store/checks/lint.sh
  //   store/checks/shared.sh  -> lint.sh            (inside: allowed)
  //   store/escape.sh         -> ../secret.sh       (outside: refused)
  //   store/outside           -> ..                 (a folder link out: refused)
  scratch = mkdtempSync(join(tmpdir(), 'stagehooks-script-store-'));
  writeFileSync(join(scratch, 'secret.sh'), 'echo secret\n');
  mkdirSync(join(scratch, 'store', 'checks'), { recursive: true });
  writeFileSync(join(scratch, 'store', 'checks', 'lint.sh'), 'echo lint\n');
  symlinkSync('lint.sh', join(scratch, 'store', 'checks', 'shared.sh'));
  symlinkSync('../secret.sh', join(scratch, 'store', 'escape.sh'));
  symlinkSync('..', join(scratch, 'store', 'outside'));
  store = new DirectoryScriptStore(join(scratch, 'store'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('DirectoryScriptStore', () => {
  it('reads a script by its path in the store', async () => {
    // Act
    const source = await store.read('checks/lint.sh');

    // Assess
    expect(source).toBe('echo lint\n');
  });

  it('follows a symlink that stays inside the store', async () => {
    // Act
    const source = await store.read('checks/shared.sh');

    // Assess
    expect(source).toBe('echo lint\n');
  });

  it.each([
    ['a ".." segment', '../secret.sh'],
    ['a ".." segment further in', 'checks/../../secret.sh'],
    ['an absolute path', '/etc/passwd'],
    ['a symlinked file pointing out', 'escape.sh'],
    ['a symlinked folder pointing out', 'outside/secret.sh'],
  ])('refuses %s', async (_, path) => {
    // Act
    const read = store.read(path);

    // Assess
    await expect(read).rejects.toThrow(ValidationError);
    await expect(read).rejects.toThrow('leads outside the script store');
  });

  it('says not found for a missing script or a folder', async () => {
    // Act
    const missing = store.read('checks/nope.sh');
    const folder = store.read('checks');

    // Assess
    await expect(missing).rejects.toThrow(NotFoundError);
    await expect(missing).rejects.toThrow('script checks/nope.sh not found');
    await expect(folder).rejects.toThrow(NotFoundError);
  });

  it('says the store failed when its root is missing', async () => {
    // Act
    const read = new DirectoryScriptStore(join(scratch, 'no-store')).read('checks/lint.sh');

    // Assess
    await expect(read).rejects.toThrow(StoreError);
  });
});
