import { accessSync, constants, existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { StagehooksError } from '../../errors';

export type ScriptSandboxSetting = 'bubblewrap' | 'none' | 'auto';

/** The isolation script hooks actually get on this machine. */
export interface ActiveScriptSandbox {
  mode: 'bubblewrap' | 'none';
  /** Absolute path of `bwrap` when mode is `bubblewrap`. */
  bwrapPath: string | null;
  /** Absolute path of `prlimit`; null when memory and CPU limits cannot be applied. */
  prlimitPath: string | null;
  /** One line for the operator when isolation or limits are weaker than configured; null otherwise. */
  warning: string | null;
}

/** PATH inside every script's environment, and where the runner finds `prlimit` (always inside the sandbox). */
export const SCRIPT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Where the run's work folder (script + input.json) appears inside the sandbox. */
export const SANDBOX_WORK_DIR = '/tmp/hook';
export const SANDBOX_TMP_DIR = '/tmp';

/** `nobody`: the uid a sandbox without a host user of its own shows its script (user namespace mode). */
const SANDBOX_UID = '65534';

/** Read-only system folders a script's interpreter needs; merged-/usr hosts have symlinks for most. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** Small pieces of /etc that interpreters use; never the whole of /etc (it holds host config and secrets). */
const SYSTEM_FILES = ['/etc/alternatives', '/etc/ssl', '/etc/ld.so.cache', '/etc/localtime'];

/** Absolute path of `command` (a name looked up on `searchPath`, or a path), or null when not executable. */
export function findExecutable(command: string, searchPath: string): string | null {
  const candidates = command.includes('/')
    ? [command]
    : searchPath
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here: try the next folder
    }
  }
  return null;
}

/**
 * Which sandbox `setting` gives on this machine. `auto` falls back to a plain subprocess when `bwrap` is
 * not on PATH; the stack prints `warning` once at start. Throws when `bubblewrap` is required but missing.
 */
export function resolveScriptSandbox(
  setting: ScriptSandboxSetting,
  searchPath: string = process.env.PATH ?? SCRIPT_PATH,
): ActiveScriptSandbox {
  const bwrapPath = setting === 'none' ? null : findExecutable('bwrap', searchPath);
  if (setting === 'bubblewrap' && bwrapPath === null) {
    throw new StagehooksError(
      'the script sandbox is set to "bubblewrap" but bwrap is not on PATH: install bubblewrap (apt-get install bubblewrap)',
    );
  }
  // Looked up where the sandbox can see it too: it runs inside, as the script's parent.
  const prlimitPath = findExecutable('prlimit', SCRIPT_PATH);
  const warnings: string[] = [];
  if (setting === 'auto' && bwrapPath === null) {
    warnings.push(
      'bwrap is not on PATH: script hooks run as plain subprocesses that can read host files and reach the network; install bubblewrap to sandbox them',
    );
  }
  if (prlimitPath === null)
    warnings.push('prlimit is not installed: script hooks run without memory and CPU limits');
  return {
    mode: bwrapPath === null ? 'none' : 'bubblewrap',
    bwrapPath,
    prlimitPath,
    warning: warnings.length > 0 ? warnings.join('; ') : null,
  };
}

/** True when `path` is `root` or inside it. */
export function isWithin(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** System folders bound into every sandbox; anything else (a python prefix, the venvs) is bound per run. */
export function sandboxSystemRoots(): string[] {
  return SYSTEM_DIRS.filter((dir) => existsSync(dir));
}

/**
 * How the sandbox gets its identity:
 * - `userns` (no `runAs`): bwrap makes a user namespace in which the script is 65534, mapped to the
 *   runner's own uid on the host (root, for a root runner: then no process limit holds).
 * - `host-user` (`runAs`, a root runner): bwrap, still root, makes every namespace but the user one
 *   and binds what the script needs (so no host folder need be open to the script's uid), then
 *   `setpriv` starts the script as its host uid and gid with no groups and no capabilities left. The
 *   process limit counts per host uid, which is why each script running at once has one of its own.
 */
export type SandboxIdentity = 'userns' | 'host-user';

/** The bounds of the sandbox's own filesystems. */
export interface SandboxBounds {
  /** Size of each writable tmpfs (/tmp, /dev/shm), in bytes. */
  tmpBytes: number;
}

/**
 * The fixed part of the bwrap command line: namespaces, identity, system folders. Computed once.
 * No `--new-session`: the runner already starts bwrap in a new session without a terminal (so there is
 * no TTY to inject into), and keeping the sandbox in bwrap's process group lets the group kill reach
 * every sandboxed process at once, on top of --die-with-parent and the pid namespace.
 * The only writable places are a /tmp and a /dev/shm of `tmpBytes` each; `/` and `/dev` are made
 * read-only (bwrap leaves them writable tmpfs of half the host's memory otherwise).
 */
export function bubblewrapBaseArgs(identity: SandboxIdentity, { tmpBytes }: SandboxBounds): string[] {
  const args =
    identity === 'userns'
      ? [
          '--unshare-all', // user, ipc, pid, net (own loopback only), uts, cgroup
          '--uid',
          SANDBOX_UID,
          '--gid',
          SANDBOX_UID,
          '--cap-drop',
          'ALL',
        ]
      : [
          '--unshare-ipc',
          '--unshare-pid',
          '--unshare-net',
          '--unshare-uts',
          '--unshare-cgroup-try',
          // What `setpriv` needs to become the script's user and drop the rest (bounding set included).
          '--cap-drop',
          'ALL',
          '--cap-add',
          'CAP_SETUID',
          '--cap-add',
          'CAP_SETGID',
          '--cap-add',
          'CAP_SETPCAP',
        ];
  args.push(
    '--die-with-parent', // the sandbox dies with bwrap, so killing bwrap's process group ends everything
    '--hostname',
    'stagehooks',
  );
  for (const dir of SYSTEM_DIRS) {
    let stats: ReturnType<typeof lstatSync>;
    try {
      stats = lstatSync(dir);
    } catch {
      continue;
    }
    // Recreate merged-/usr symlinks rather than binding their target twice.
    if (stats.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (stats.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  // bwrap would make /etc for them 0700 as root: a script run as another user could not reach them
  // (no shared libraries behind /etc/alternatives symlinks, no CA certificates).
  args.push('--perms', '0755', '--dir', '/etc');
  for (const file of SYSTEM_FILES) args.push('--ro-bind-try', file, file);
  const size = String(tmpBytes);
  args.push('--proc', '/proc', '--dev', '/dev');
  args.push('--perms', '1777', '--size', size, '--tmpfs', '/dev/shm', '--remount-ro', '/dev');
  args.push('--perms', '1777', '--size', size, '--tmpfs', SANDBOX_TMP_DIR);
  return args;
}

/**
 * The per-run part: the work folder read-only at SANDBOX_WORK_DIR, extra read-only roots at their own
 * paths (after the /tmp tmpfs, so roots under /tmp still show), cwd in the writable /tmp, and `/` made
 * read-only last (the folders above the roots are made in it). The folders above a root are made
 * 0755: bwrap would copy the host's modes, and a root under /root would stay out of the script's reach.
 */
export function bubblewrapRunArgs(
  workDir: string,
  readOnlyRoots: readonly string[],
  media?: { dirs: readonly string[]; outputDir: string },
): string[] {
  const args = ['--ro-bind', workDir, SANDBOX_WORK_DIR];
  const made = new Set<string>();
  const bind = (root: string, how: '--ro-bind' | '--bind') => {
    for (const folder of foldersAbove(root)) {
      // System folders are bound already, /tmp is the tmpfs.
      if (made.has(folder) || folder === SANDBOX_TMP_DIR || SYSTEM_DIRS.some((dir) => isWithin(folder, dir)))
        continue;
      made.add(folder);
      args.push('--perms', '0755', '--dir', folder);
    }
    args.push(how, root, root);
  };
  for (const root of readOnlyRoots) bind(root, '--ro-bind');
  // Media read-only first, then the job's output folder over them: it may lie inside one.
  for (const dir of media?.dirs ?? []) bind(dir, '--ro-bind');
  if (media !== undefined) bind(media.outputDir, '--bind');
  args.push('--chdir', SANDBOX_TMP_DIR, '--remount-ro', '/');
  return args;
}

/** `/a/b/c` gives `/a`, `/a/b`: top-down, without `/` itself. */
function foldersAbove(path: string): string[] {
  const folders: string[] = [];
  for (let folder = dirname(path); folder !== dirname(folder); folder = dirname(folder))
    folders.unshift(folder);
  return folders;
}

/** `--setenv` pairs for `bwrap --args <fd>`: NUL-separated, so values never show in the host's `ps`. */
export function bubblewrapEnvArgs(env: Readonly<Record<string, string>>): Buffer {
  const parts = Object.entries(env).flatMap(([name, value]) => ['--setenv', name, value]);
  return Buffer.from(parts.map((part) => `${part}\0`).join(''), 'utf8');
}
