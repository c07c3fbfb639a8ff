import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { NotFoundError, StoreError, ValidationError } from '../../errors';

/** Where `scriptPath` hooks keep their source: a folder locally, an S3 prefix on AWS. */
export interface ScriptStore {
  /**
   * The source at `path` (relative to the store). Throws NotFoundError when there is none,
   * ValidationError when the path leads outside the store, StoreError when the store fails.
   */
  read(path: string): Promise<string>;
}

const outsideTheStore = (path: string) =>
  new ValidationError('script path', [
    { path: 'config.scriptPath', message: `"${path}" leads outside the script store` },
  ]);

const isMissing = (error: unknown) =>
  error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');

/** Scripts in a local folder. Symlinks are followed only while they stay inside it. */
export class DirectoryScriptStore implements ScriptStore {
  constructor(readonly rootDir: string) {}

  async read(path: string): Promise<string> {
    if (isAbsolute(path) || path.split(/[\\/]/).includes('..')) throw outsideTheStore(path);
    let root: string;
    try {
      root = await realpath(this.rootDir);
    } catch (error) {
      throw new StoreError(`open the script store ${this.rootDir}`, { cause: error });
    }
    let target: string;
    try {
      // Resolves every symlink on the way, so the check below sees where the bytes really are.
      target = await realpath(join(root, path));
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError('script', path);
      throw new StoreError(`read script ${path}`, { cause: error });
    }
    if (!target.startsWith(root + sep)) throw outsideTheStore(path);
    try {
      return await readFile(target, 'utf8');
    } catch (error) {
      if (isMissing(error) || (error instanceof Error && 'code' in error && error.code === 'EISDIR')) {
        throw new NotFoundError('script', path);
      }
      throw new StoreError(`read script ${path}`, { cause: error });
    }
  }
}
