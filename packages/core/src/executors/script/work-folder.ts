import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StagehooksError } from '../../errors';
import { assertReachable, type ScriptUser } from './script-user';

/** One run's folder; the caller removes `dir` (and with it `home`) once the run is over. */
export interface WorkFolder {
  dir: string;
  /** Inside `dir`, writable by the script: its HOME, TMPDIR and cwd. Null when not asked for. */
  home: string | null;
}

const HOME_DIR = 'home';
/** chown's "leave the owner as it is": the runner keeps owning what the script only reads. */
const KEEP_OWNER = -1;

/**
 * Creates a fresh folder under `workRoot` holding `files`. Without `user` everything is the runner's
 * alone (0700, files 0600). With `user`, the script reads the files but can neither change nor replace
 * them: folder and files stay the runner's and are shared read-only through the script's group (0750,
 * 0640), and only `home` belongs to the script (0700). Removes what it created when it fails.
 * Synchronous: a handful of small operations on a local folder, which take less than the thread pool's
 * round trips would (about 1 ms a run).
 */
export async function createWorkFolder(
  workRoot: string,
  files: Readonly<Record<string, string>>,
  options: {
    user: ScriptUser | null;
    /** Who must reach `workRoot` by its path (the user, unless a sandbox binds the folder for it). */
    reacher: ScriptUser | null;
    home: boolean;
  },
): Promise<WorkFolder> {
  const { user } = options;
  let dir: string;
  try {
    dir = mkdtempSync(join(workRoot, 'stagehooks-run-'));
  } catch (error) {
    throw new StagehooksError(`could not create a work folder under ${workRoot}`, { cause: error });
  }
  try {
    if (options.reacher !== null) await assertReachable(workRoot, options.reacher, 'the work root');
    for (const [name, content] of Object.entries(files)) {
      const file = join(dir, name);
      writeFileSync(file, content, { mode: 0o600 });
      if (user !== null) shareReadOnly(file, 0o640, user);
    }
    const home = options.home ? join(dir, HOME_DIR) : null;
    if (home !== null) {
      mkdirSync(home, { mode: 0o700 });
      if (user !== null) giveTo(home, user);
    }
    // Opened up last: until now nobody but the runner could even look in.
    if (user !== null) shareReadOnly(dir, 0o750, user);
    return { dir, home };
  } catch (error) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {}
    throw error;
  }
}

function shareReadOnly(path: string, mode: number, user: ScriptUser): void {
  try {
    chownSync(path, KEEP_OWNER, user.gid);
    chmodSync(path, mode);
  } catch (error) {
    throw cannotShare(path, user, error);
  }
}

function giveTo(path: string, user: ScriptUser): void {
  try {
    chownSync(path, user.uid, user.gid);
  } catch (error) {
    throw cannotShare(path, user, error);
  }
}

const cannotShare = (path: string, user: ScriptUser, error: unknown) =>
  new StagehooksError(`could not prepare ${path} for uid ${user.uid}, gid ${user.gid}`, { cause: error });
