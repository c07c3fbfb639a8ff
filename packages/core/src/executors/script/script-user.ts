import { lstatSync, readdirSync, readFileSync, rmSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { StagehooksError } from '../../errors';
import { processIds } from './process-group';

/** Node takes uids and gids as int32; 0 is refused: a script running as root is what a ScriptUser prevents. */
const MAX_HOST_ID = 2 ** 31 - 1;
const notAHostId = `must be a whole number from 1 to ${MAX_HOST_ID} (0 is root)`;
const HostId = z
  // A missing id keeps the parse's own "is required".
  .int({ error: (issue) => (issue.input === undefined ? undefined : notAHostId) })
  .min(1, { error: notAHostId })
  .max(MAX_HOST_ID, { error: notAHostId });

/** A host user and group, other than root, that scripts run as. */
export const ScriptUser = z.strictObject({ uid: HostId, gid: HostId });
export type ScriptUser = z.infer<typeof ScriptUser>;

/**
 * Starting a process as another user takes setuid and setgid, which only root has (strictly, CAP_SETUID
 * and CAP_SETGID, which a non-root runner lacks). Checked before a run creates anything.
 */
export function assertMaySwitchTo(user: ScriptUser): void {
  const euid = process.geteuid?.();
  if (euid !== 0) {
    throw new StagehooksError(
      `scripts are set to run as uid ${user.uid}, gid ${user.gid}, but the runner is not root (it runs as uid ${euid ?? 'unknown'}): only root can start a process as another user`,
    );
  }
}

/**
 * Fails clearly, rather than with the script's own "Permission denied", when `user` cannot reach `path`
 * (`subject` names it in the message): every folder above it, on the path as given and on the real one,
 * must let the user in, and `path` itself must be enterable (a folder) or executable (a file).
 */
export async function assertReachable(path: string, user: ScriptUser, subject: string): Promise<void> {
  const real = await realpath(path);
  const checked = new Set([...foldersAbove(resolve(path)), ...foldersAbove(real), real]);
  for (const checkedPath of checked) {
    const stats = await stat(checkedPath);
    if (!allowsSearchOrExecute(stats, user)) {
      const verb = stats.isDirectory() ? 'enter' : 'execute';
      throw new StagehooksError(
        `${subject} ${path} is out of reach for uid ${user.uid}, gid ${user.gid}: it may not ${verb} ${checkedPath} (mode ${(stats.mode & 0o7777).toString(8)}, owner ${stats.uid}:${stats.gid})`,
      );
    }
  }
}

/** `/a/b/c` gives `/`, `/a`, `/a/b`: top-down, so a message names the first folder in the way. */
function foldersAbove(path: string): string[] {
  const folders: string[] = [];
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    folders.unshift(folder);
    if (dirname(folder) === folder) return folders;
  }
}

/**
 * The kernel's check of the x bit: the owner bits for the owner, else the group bits for the group, else
 * the rest. The script has no supplementary groups; ACLs are not looked at.
 */
function allowsSearchOrExecute(stats: Stats, user: ScriptUser): boolean {
  const bit = stats.uid === user.uid ? 0o100 : stats.gid === user.gid ? 0o010 : 0o001;
  return (stats.mode & bit) !== 0;
}

/** Folders every user may write in, outside a script's own work folder. */
const SHARED_TEMP_FOLDERS = ['/tmp', '/var/tmp', '/dev/shm'];

/**
 * For a uid kept for scripts alone (never a real account's: this kills every process it has): ends what
 * the last script left behind before the uid is handed to the next one, its processes that got out of
 * its process group (`setsid`, daemons) and its files in the shared temp folders.
 */
export function clearUser(uid: number): void {
  for (const pid of processIds()) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue; // gone already
    }
    // Real, effective, saved and filesystem uid: any of them makes it the script's.
    const ids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
    if (ids?.slice(1).some((id) => Number(id) === uid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  for (const folder of SHARED_TEMP_FOLDERS) {
    for (const name of entries(folder)) {
      const path = join(folder, name);
      try {
        if (lstatSync(path).uid === uid) rmSync(path, { recursive: true, force: true });
      } catch {
        // gone meanwhile, or not removable: the next script may see it
      }
    }
  }
}

function entries(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}
