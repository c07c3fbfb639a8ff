import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdir, realpath } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { HookRunResult } from '../../domain';
import {
  CAPTURE_LIMIT_BYTES,
  errorWithoutOutput,
  type HookInput,
  isJsonObject,
  jsonTooDeepAt,
  MAX_JSON_DEPTH,
  parseOrThrow,
  tooDeepMessage,
} from '../../domain';
import { describeError, StagehooksError } from '../../errors';
import type { ScriptHook, ScriptRunner } from '../../ports';
import {
  type FinishedProcess,
  inProcessLauncher,
  type ProcessLaunch,
  type ProcessLauncher,
} from './process-group';
import {
  type ActiveScriptSandbox,
  bubblewrapBaseArgs,
  bubblewrapEnvArgs,
  bubblewrapRunArgs,
  findExecutable,
  isWithin,
  resolveScriptSandbox,
  SANDBOX_TMP_DIR,
  SANDBOX_WORK_DIR,
  SCRIPT_PATH,
  type ScriptSandboxSetting,
  sandboxSystemRoots,
} from './sandbox';
import type { ScriptStore } from './script-store';
import { assertMaySwitchTo, assertReachable, clearUser, ScriptUser } from './script-user';
import { createWorkFolder, type WorkFolder } from './work-folder';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;

/**
 * Per-run resource limits: for shell hooks by bash itself (`ulimit`, on the script's first line), for
 * python hooks with `prlimit` (when installed). `memoryMiB` bounds the address
 * space (RLIMIT_AS), which is larger than resident memory: leave room for thread stacks and mappings.
 * `processes` bounds the processes and threads of the script's uid (RLIMIT_NPROC, counted per uid
 * across the host and never enforced for root): it holds when scripts run as a uid of their own
 * (`runAs`) or in the sandbox's user namespace, and is not set for a script sharing the runner's uid
 * unsandboxed (it would count the runner's own processes). `diskMiB` is the size of the sandbox's /tmp
 * and of its /dev/shm, each, and the largest file a script may write anywhere (RLIMIT_FSIZE).
 */
export const ScriptLimits = z.strictObject({
  memoryMiB: z
    .int()
    .min(32)
    .max(1024 * 1024),
  cpuSeconds: z
    .int()
    .min(1)
    .max(24 * 3600),
  processes: z.int().min(4).max(1_000_000),
  diskMiB: z
    .int()
    .min(1)
    .max(1024 * 1024),
});
export type ScriptLimits = z.infer<typeof ScriptLimits>;

export const DEFAULT_SCRIPT_LIMITS: ScriptLimits = {
  memoryMiB: 1024,
  cpuSeconds: 300,
  processes: 64,
  diskMiB: 64,
};

export interface ProcessScriptRunnerOptions {
  /** Where `config.scriptPath` is read from; without one, such hooks end in status `error`. */
  scriptStore?: ScriptStore;
  /** `auto` (default): bubblewrap when `bwrap` is on PATH, else a plain subprocess. */
  sandbox?: ScriptSandboxSetting;
  limits?: Partial<ScriptLimits>;
  /** Interpreter for python hooks without a venv (default `python3`, looked up on the runner's PATH). */
  python?: string;
  /** Interpreter for shell hooks (default `bash`, looked up on the runner's PATH). */
  bash?: string;
  /** Folder holding the venvs python hooks name in `config.venv` (`<venvsRoot>/<venv>/bin/python`). */
  venvsRoot?: string;
  /** Where per-run work folders are created (default the OS temp folder). */
  workRoot?: string;
  /**
   * The host uid and gid scripts run as instead of the runner's own (neither may be 0). Only a runner
   * running as root can switch users: otherwise every run ends in status `error`. The script gets no
   * supplementary groups and no capabilities, so it cannot read the runner's /proc/<pid>/environ nor
   * signal or ptrace it. Its work folder (script, input.json) is readable but not writable by it; the
   * work root and every folder above must let it in, and so must a venvs root.
   * - `none`: the script and its children run as this uid and gid.
   * - `bubblewrap`: bwrap sets the sandbox up as root, without a user namespace (so the interpreter,
   *   venvs and work folder are bound whatever the folders above them let this uid reach), and
   *   `setpriv` starts the script as this uid and gid, which it sees as its own.
   *
   * Unset: scripts run as the runner's uid (in `bubblewrap`, 65534 inside mapped to it outside; for a
   * root runner that is root on the host, and no process limit holds).
   */
  runAs?: ScriptUser;
  /**
   * With `runAs`: how many users scripts take, one per script running at once (default 1): `runAs`,
   * then the uids and gids below it (down, so the default 65534, nobody, never steps onto 65535, which
   * some tools take for "no user"; pick a range that holds no real account). Scripts running side by
   * side then have different uids and gids, so none can signal, trace or read another or its work
   * folder; a script waits for a free user when all are taken.
   */
  runAsUsers?: number;
  /**
   * The `runAs` uids belong to scripts alone (a script-runner container): before one is handed on,
   * whatever the last script left running or in the shared temp folders under it is killed or removed.
   * Never for a uid with other processes (it kills every one). Default false.
   */
  clearUsers?: boolean;
  /** What starts the processes (default: this process, `inProcessLauncher`). */
  launcher?: ProcessLauncher;
  /**
   * Media for scripts that read and write a studio's files (the catalog's ffmpeg hooks). Unset, a
   * script sees no host folder and gets no output folder.
   * - `dirs`: host folders a script may read (bound read-only, at the same paths, in the sandbox), so
   *   the stage's `segmentPath` can point into one; named to the script in STAGEHOOKS_MEDIA_DIRS
   *   (`:`-separated).
   * - `outputRoot`: under it each job gets `<outputRoot>/<jobId>`, the one host folder a script may
   *   write (bound read-write, at the same path, so a path a hook hands on is valid outside), named in
   *   STAGEHOOKS_OUTPUT_DIR. What scripts write there is kept: the pipeline reads it and clears it.
   */
  media?: { dirs?: readonly string[]; outputRoot: string };
}

type ScriptRunnerSettings = {
  scriptStore: ScriptStore | null;
  sandbox: ScriptSandboxSetting;
  limits: ScriptLimits;
  python: string;
  bash: string;
  venvsRoot: string | null;
  workRoot: string;
  runAs: ScriptUser | null;
  runAsUsers: number;
  clearUsers: boolean;
  launcher: ProcessLauncher;
  media: { dirs: string[]; outputRoot: string } | null;
};

/** The one place defaults are applied. */
function scriptRunnerSettings(options: ProcessScriptRunnerOptions): ScriptRunnerSettings {
  return {
    scriptStore: options.scriptStore ?? null,
    sandbox: options.sandbox ?? 'auto',
    limits: parseOrThrow(
      ScriptLimits,
      {
        memoryMiB: options.limits?.memoryMiB ?? DEFAULT_SCRIPT_LIMITS.memoryMiB,
        cpuSeconds: options.limits?.cpuSeconds ?? DEFAULT_SCRIPT_LIMITS.cpuSeconds,
        processes: options.limits?.processes ?? DEFAULT_SCRIPT_LIMITS.processes,
        diskMiB: options.limits?.diskMiB ?? DEFAULT_SCRIPT_LIMITS.diskMiB,
      },
      'script limits',
    ),
    python: options.python ?? 'python3',
    bash: options.bash ?? 'bash',
    venvsRoot: options.venvsRoot ?? null,
    workRoot: options.workRoot ?? tmpdir(),
    runAs: options.runAs === undefined ? null : parseOrThrow(ScriptUser, options.runAs, 'script runAs'),
    runAsUsers: parseOrThrow(
      z
        .int()
        .min(1, 'must be at least 1')
        .refine(
          (count) =>
            options.runAs === undefined || Math.min(options.runAs.uid, options.runAs.gid) - count >= 0,
          { error: 'would go below uid or gid 1 from runAs' },
        ),
      options.runAsUsers ?? 1,
      'script runAsUsers',
    ),
    clearUsers: options.clearUsers ?? false,
    launcher: options.launcher ?? inProcessLauncher,
    media:
      options.media === undefined
        ? null
        : {
            dirs: (options.media.dirs ?? []).map((dir) => resolve(dir)),
            outputRoot: resolve(options.media.outputRoot),
          },
  };
}

/** A job id as a folder name: itself when it is a plain name, else a digest of it (never `..` or a `/`). */
function jobFolderName(jobId: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(jobId)
    ? jobId
    : `job-${createHash('sha256').update(jobId).digest('hex').slice(0, 32)}`;
}

/**
 * `<outputRoot>/<job>`, made if missing. Scripts of one job may run as different users, so under
 * `runAs` it is writable by all of them and sticky (like /tmp: none removes another's files); in the
 * sandbox only this job's scripts are shown it.
 */
async function jobOutputDir(outputRoot: string, jobId: string, user: ScriptUser | null): Promise<string> {
  const dir = join(outputRoot, jobFolderName(jobId));
  await mkdir(dir, { recursive: true });
  if (user !== null) await chmod(dir, 0o1777);
  return dir;
}

/** An interpreter ready to run: its absolute path and the host folders it needs besides the system ones. */
interface ScriptInterpreter {
  executable: string;
  roots: string[];
}

const PythonProbe = z.strictObject({ executable: z.string().min(1), basePrefix: z.string().min(1) });
const PYTHON_PROBE =
  'import json, sys; print(json.dumps({"executable": sys.executable, "basePrefix": sys.base_prefix}))';

/**
 * What a script may print as its last stdout line to refine the result; extra keys are ignored. `data`
 * and `patch` pass through as given: the engine checks them (`checkedOutput`) against their bounds and
 * the hook's output schema, and fails the hook naming what is wrong.
 */
const ScriptReport = z.object({
  status: z.enum(['passed', 'failed']).optional(),
  message: z.string().optional(),
  data: z.unknown().optional(),
  patch: z.unknown().optional(),
});
type ScriptReport = z.infer<typeof ScriptReport>;

const SCRIPT_FILES = { shell: 'hook.sh', python: 'hook.py' } as const;
const INPUT_FILE = 'input.json';

type RunOutcome = Omit<HookRunResult, 'startedAt' | 'finishedAt' | 'durationMs'>;

/**
 * Runs shell and python hooks as local subprocesses: in a bubblewrap sandbox when available (no
 * network, no host files, a bounded /tmp), optionally as another host user (`runAs`), with memory, CPU,
 * process and file-size limits (`ScriptLimits`), the hook input on stdin and in STAGEHOOKS_INPUT_FILE, and an environment built from scratch
 * (the runner's own never leaks in). Unsandboxed, cwd, HOME and TMPDIR are a fresh writable folder.
 *
 * Result: exit 0 = passed, other codes = failed; a last stdout line that is a JSON object
 * `{"status"?: "passed"|"failed", "message"?, "data"?, "patch"?}` refines that for ordinary exits
 * (codes 0-128): its status, when given, decides; data and patch are handed on. A report nested deeper
 * than any JSON the product takes fails the hook, naming the bound. A death by signal n is
 * reported as failed with exitCode 128 + n (bash's and bwrap's convention, so both modes agree) and
 * an errorMessage naming the signal. Past `timeoutSeconds`: timed_out, exitCode null. Problems of the
 * runner itself (no script, no interpreter, no work folder) give status `error`; `run` never throws.
 */
export class ProcessScriptRunner implements ScriptRunner {
  readonly sandbox: ActiveScriptSandbox;
  private readonly settings: ScriptRunnerSettings;
  private readonly bubblewrapArgs: string[];
  /** `setpriv`, which starts a sandboxed script as its user (bubblewrap with `runAs` only). */
  private readonly setprivPath: string | null;
  private readonly systemRoots: string[];
  /** Probed once per interpreter path; failures are not kept, so a venv created later is found. */
  private readonly pythons = new Map<string, Promise<ScriptInterpreter>>();
  /** bash as found on PATH (a walk of every PATH folder), once found. */
  private bash: ScriptInterpreter | undefined;
  /** The uids scripts run as, one per running script; null without `runAs`. */
  private readonly users: ScriptUsers | null;

  constructor(options: ProcessScriptRunnerOptions = {}) {
    this.settings = scriptRunnerSettings(options);
    const { runAs, runAsUsers, clearUsers } = this.settings;
    this.users = runAs === null ? null : new ScriptUsers(runAs, runAsUsers, clearUsers);
    this.sandbox = resolveScriptSandbox(this.settings.sandbox);
    const sandboxed = this.sandbox.mode === 'bubblewrap';
    this.bubblewrapArgs = sandboxed
      ? bubblewrapBaseArgs(runAs === null ? 'userns' : 'host-user', {
          tmpBytes: this.settings.limits.diskMiB * MiB,
        })
      : [];
    this.setprivPath = sandboxed && runAs !== null ? findExecutable('setpriv', SCRIPT_PATH) : null;
    if (sandboxed && runAs !== null && this.setprivPath === null) {
      throw new StagehooksError(
        'scripts are set to run sandboxed as another user, but setpriv is not installed (it comes with util-linux)',
      );
    }
    this.systemRoots = sandboxSystemRoots();
  }

  async run(hook: ScriptHook, input: HookInput): Promise<HookRunResult> {
    const startedAt = new Date();
    const started = performance.now();
    const finish = (outcome: RunOutcome): HookRunResult => ({
      ...outcome,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
    });

    let folder: WorkFolder | null = null;
    let user: ScriptUser | null = null;
    try {
      rejectNulCharacters(hook);
      if (this.settings.runAs !== null) assertMaySwitchTo(this.settings.runAs);
      user = (await this.users?.take()) ?? null;
      const source = await this.loadSource(hook);
      const sandboxed = this.sandbox.mode === 'bubblewrap';
      // Sandboxed, bwrap binds as root what the script needs: only unsandboxed must its user reach it.
      const reacher = sandboxed ? null : user;
      const interpreter = await this.resolveInterpreter(hook, reacher);
      const scriptFile = SCRIPT_FILES[hook.type];
      folder = await createWorkFolder(
        this.settings.workRoot,
        {
          [scriptFile]:
            hook.type === 'shell' ? shellLimits(this.settings.limits, this.limitsProcesses) + source : source,
          [INPUT_FILE]: JSON.stringify(input),
        },
        // The sandbox has its own writable /tmp.
        { user, reacher, home: !sandboxed },
      );
      const media =
        this.settings.media === null
          ? null
          : {
              dirs: this.settings.media.dirs,
              outputDir: await jobOutputDir(this.settings.media.outputRoot, input.jobId, user),
            };
      const finished = await this.settings.launcher.run(
        this.launch(hook, input, interpreter, folder, scriptFile, user, media),
      );
      return finish(runOutcomeOf(finished, hook.config.timeoutSeconds, sandboxed));
    } catch (error) {
      return finish(errorOutcome(error));
    } finally {
      // As root, this also removes what the script left in its home, whatever the modes it set.
      if (folder !== null) {
        try {
          rmSync(folder.dir, { recursive: true, force: true });
        } catch {
          // Left for the OS's temp cleaning; the run's result stands.
        }
      }
      // After the clean-up: the next script with this uid finds nothing of this one's.
      if (user !== null) this.users?.give(user);
    }
  }

  /** Not for a script sharing the runner's uid unsandboxed: RLIMIT_NPROC would count the runner's processes. */
  private get limitsProcesses(): boolean {
    return this.settings.runAs !== null || this.sandbox.mode === 'bubblewrap';
  }

  private async loadSource(hook: ScriptHook): Promise<string> {
    const { script, scriptPath } = hook.config;
    if (script !== undefined) return script;
    if (scriptPath === undefined) throw new StagehooksError('the hook has neither script nor scriptPath');
    if (this.settings.scriptStore === null) {
      throw new StagehooksError(`script ${scriptPath} cannot be loaded: this runner has no script store`);
    }
    return this.settings.scriptStore.read(scriptPath);
  }

  private async resolveInterpreter(hook: ScriptHook, user: ScriptUser | null): Promise<ScriptInterpreter> {
    const interpreter =
      hook.type === 'python' ? await this.resolvePython(hook.config.venv) : this.resolveBash();
    if (this.sandbox.mode === 'bubblewrap') {
      // The sandbox shows only the system folders and the interpreter's roots: fail clearly here
      // rather than with bwrap's "execvp: No such file".
      const real = await realpath(interpreter.executable);
      if (![...this.systemRoots, ...interpreter.roots].some((root) => isWithin(real, root))) {
        throw new StagehooksError(
          `interpreter ${interpreter.executable} is outside the folders the sandbox shows (${this.systemRoots.join(', ')})`,
        );
      }
    }
    if (user !== null) {
      // Same idea for another user: not "Permission denied" from a script that never started.
      await assertReachable(interpreter.executable, user, 'interpreter');
      for (const root of interpreter.roots) await assertReachable(root, user, 'interpreter folder');
    }
    return interpreter;
  }

  private resolveBash(): ScriptInterpreter {
    if (this.bash) return this.bash;
    const executable = findExecutable(this.settings.bash, process.env.PATH ?? SCRIPT_PATH);
    if (executable === null) throw new StagehooksError(`bash interpreter "${this.settings.bash}" not found`);
    this.bash = { executable, roots: [] };
    return this.bash;
  }

  private async resolvePython(venv: string | undefined): Promise<ScriptInterpreter> {
    let command = this.settings.python;
    const roots: string[] = [];
    if (venv !== undefined) {
      if (this.settings.venvsRoot === null) {
        throw new StagehooksError(`python venv "${venv}" requested, but this runner has no venvs root`);
      }
      const venvsRoot = await realpath(this.settings.venvsRoot).catch((error: unknown) => {
        throw new StagehooksError(`the venvs root ${this.settings.venvsRoot} is missing`, { cause: error });
      });
      command = join(venvsRoot, venv, 'bin', 'python');
      if (findExecutable(command, '') === null) {
        throw new StagehooksError(`python venv "${venv}" not found (no ${command})`);
      }
      roots.push(venvsRoot);
    }
    const probed = await this.probePython(command);
    return { executable: probed.executable, roots: [...roots, ...probed.roots] };
  }

  /** Asks the interpreter where it really lives: a shim (pyenv) or a symlink would not work in the sandbox. */
  private probePython(command: string): Promise<ScriptInterpreter> {
    let probe = this.pythons.get(command);
    if (probe === undefined) {
      probe = (async () => {
        const { stdout } = await execFileAsync(command, ['-c', PYTHON_PROBE], {
          // The runner's PATH finds the interpreter; nothing else of its environment is needed.
          env: { PATH: process.env.PATH ?? SCRIPT_PATH, LANG: 'C.UTF-8' },
          timeout: 10_000,
        }).catch((error: unknown) => {
          throw new StagehooksError(`python interpreter "${command}" could not be started`, { cause: error });
        });
        const found = PythonProbe.parse(JSON.parse(stdout));
        const prefix = await realpath(found.basePrefix);
        const outsideSystem = !this.systemRoots.some((root) => isWithin(prefix, root));
        return { executable: found.executable, roots: outsideSystem ? [prefix] : [] };
      })();
      this.pythons.set(command, probe);
      probe.catch(() => this.pythons.delete(command));
    }
    return probe;
  }

  private launch(
    hook: ScriptHook,
    input: HookInput,
    interpreter: ScriptInterpreter,
    folder: WorkFolder,
    scriptFile: string,
    user: ScriptUser | null,
    media: ScriptMedia | null,
  ): ProcessLaunch {
    const { prlimitPath } = this.sandbox;
    const { memoryMiB, cpuSeconds, processes, diskMiB } = this.settings.limits;
    // Shell hooks set their limits themselves (see `shellLimits`): no extra exec per run.
    const limited = (command: string[]) =>
      prlimitPath === null || hook.type === 'shell'
        ? command
        : [
            prlimitPath,
            `--as=${memoryMiB * 1024 * 1024}`,
            // Soft limit first: SIGXCPU names the cause; the hard one (SIGKILL) only if it is ignored.
            `--cpu=${cpuSeconds}:${cpuSeconds + 1}`,
            // A crash must not write core files onto the host (or into a core-dump service).
            '--core=0',
            `--fsize=${diskMiB * MiB}`,
            ...(this.limitsProcesses ? [`--nproc=${processes}`] : []),
            '--',
            ...command,
          ];
    const args = hook.config.args ?? [];
    const timeoutMs = hook.config.timeoutSeconds * 1000;
    const stdinFile = join(folder.dir, INPUT_FILE);

    if (this.sandbox.mode === 'none') {
      const [command, ...commandArgs] = limited([
        interpreter.executable,
        join(folder.dir, scriptFile),
        ...args,
      ]);
      // Created for this mode: the script's only writable folder, apart from the system's temp folders.
      const home = folder.home!;
      return {
        command: command!,
        args: commandArgs,
        env: scriptEnvironment(hook, input, { home, inputFile: stdinFile }, media),
        cwd: home,
        stdinFile,
        timeoutMs,
        captureBytes: CAPTURE_LIMIT_BYTES,
        user,
        runFolder: folder.dir,
      };
    }
    const env = scriptEnvironment(
      hook,
      input,
      {
        home: SANDBOX_TMP_DIR,
        inputFile: `${SANDBOX_WORK_DIR}/${INPUT_FILE}`,
      },
      media,
    );
    // bwrap stays root to set the sandbox up; setpriv makes the script its user (see `runAs`).
    const asUser = (command: string[]) =>
      user === null || this.setprivPath === null
        ? command
        : [
            this.setprivPath,
            `--reuid=${user.uid}`,
            `--regid=${user.gid}`,
            '--clear-groups',
            '--inh-caps=-all',
            '--bounding-set=-all',
            '--',
            ...command,
          ];
    return {
      command: this.sandbox.bwrapPath!,
      args: [
        '--args',
        '3',
        ...this.bubblewrapArgs,
        ...bubblewrapRunArgs(folder.dir, interpreter.roots, media ?? undefined),
        '--',
        ...asUser(limited([interpreter.executable, `${SANDBOX_WORK_DIR}/${scriptFile}`, ...args])),
      ],
      // bwrap runs privileged: it gets no hook-controlled variables (LD_PRELOAD...), the script gets them via fd 3.
      env: {},
      fd3: bubblewrapEnvArgs(env),
      cwd: '/',
      stdinFile,
      timeoutMs,
      captureBytes: CAPTURE_LIMIT_BYTES,
      // bwrap itself runs as the runner; the script's user comes from setpriv.
      user: null,
      runFolder: folder.dir,
    };
  }
}

/**
 * `count` users from `base` down (uid and gid each), one per running script; a taker waits for a free one.
 * With `clear`, a user comes back cleared: its leftover processes killed, its files in the shared temp
 * folders removed.
 */
class ScriptUsers {
  private readonly free: ScriptUser[];
  private readonly waiting: Array<(user: ScriptUser) => void> = [];

  constructor(
    base: ScriptUser,
    count: number,
    private readonly clear: boolean,
  ) {
    this.free = Array.from({ length: count }, (_, i) => ({ uid: base.uid - i, gid: base.gid - i }));
  }

  async take(): Promise<ScriptUser> {
    return this.free.shift() ?? new Promise((resolve) => this.waiting.push(resolve));
  }

  give(user: ScriptUser): void {
    if (this.clear) clearUser(user.uid);
    const next = this.waiting.shift();
    if (next) next(user);
    else this.free.push(user);
  }
}

/**
 * The limits as bash sets them, put in front of the script's first line (on that line, so the line
 * numbers in bash's messages stay the script's own): the address space and no core files, hard; the
 * CPU time soft (SIGXCPU names the cause) with the hard one a second later (SIGKILL if it is ignored).
 * A script cannot raise a hard limit again. If bash cannot set them, the script does not run.
 */
function shellLimits(
  { memoryMiB, cpuSeconds, processes, diskMiB }: ScriptLimits,
  limitProcesses: boolean,
): string {
  // bash counts -v and -f in KiB.
  const nproc = limitProcesses ? ` -u ${processes}` : '';
  return `ulimit -c 0 -v ${memoryMiB * 1024} -f ${diskMiB * 1024}${nproc} -t ${cpuSeconds + 1} && ulimit -S -t ${cpuSeconds} || exit 126; `;
}

/** A minimal environment built from scratch: the runner's own (credentials, tokens) never reaches a script. */
function scriptEnvironment(
  hook: ScriptHook,
  input: HookInput,
  paths: { home: string; inputFile: string },
  media: ScriptMedia | null,
): Record<string, string> {
  return {
    PATH: SCRIPT_PATH,
    HOME: paths.home,
    TMPDIR: paths.home,
    LANG: 'C.UTF-8',
    // A hook may change PATH, HOME and the like for its own script; STAGEHOOKS_* stay ours.
    ...hook.config.env,
    STAGEHOOKS_HOOK_POINT: input.hookPoint,
    STAGEHOOKS_JOB_ID: input.jobId,
    STAGEHOOKS_INPUT_FILE: paths.inputFile,
    ...(media === null
      ? {}
      : { STAGEHOOKS_OUTPUT_DIR: media.outputDir, STAGEHOOKS_MEDIA_DIRS: media.dirs.join(':') }),
  };
}

/** The media folders one run sees: the studio's, to read, and its job's output folder, to write. */
type ScriptMedia = { dirs: readonly string[]; outputDir: string };

/** NUL cannot be passed to a process, and in `bwrap --args` it would split one value into several arguments. */
function rejectNulCharacters(hook: ScriptHook): void {
  for (const [name, value] of Object.entries(hook.config.env ?? {})) {
    if (value.includes('\0')) throw new StagehooksError(`config.env.${name} contains a NUL character`);
  }
  if (hook.config.args?.some((arg) => arg.includes('\0'))) {
    throw new StagehooksError('config.args contains a NUL character');
  }
}

/** What a finished process comes to as a run: timed out, killed, the sandbox's failure, or its exit and verdict line. */
function runOutcomeOf(finished: FinishedProcess, timeoutSeconds: number, sandboxed: boolean): RunOutcome {
  const stderr = finished.stderr.text;
  const captured = {
    stdout: finished.stdout.text,
    stderr,
    truncated: finished.stdout.truncated || finished.stderr.truncated,
    responseStatus: null,
    responseBody: null,
  };
  if (finished.timedOut) {
    return {
      ...captured,
      status: 'timed_out',
      exitCode: null,
      errorMessage: `did not finish within ${timeoutSeconds} s; its process group was killed`,
    };
  }
  if (finished.signal !== null) {
    return {
      ...captured,
      status: 'failed',
      exitCode: 128 + osConstants.signals[finished.signal],
      errorMessage: `killed by ${finished.signal}`,
    };
  }
  const exitCode = finished.exitCode ?? 255;
  // bwrap reports its own setup failures as exit 1 with a "bwrap: " line; the script never started.
  if (sandboxed && exitCode === 1 && stderr.startsWith('bwrap: ')) {
    return {
      ...captured,
      status: 'error',
      exitCode: null,
      errorMessage: `the sandbox could not start: ${stderr.split('\n')[0]}`,
    };
  }
  const signal = signalOfExitCode(exitCode);
  if (signal !== undefined) {
    return {
      ...captured,
      status: 'failed',
      exitCode,
      errorMessage: `exited with code ${exitCode} = 128 + ${signal}: the script or a command it ran was killed by ${signal}`,
    };
  }
  const report = parseReport(finished.stdout.lastLine);
  if (report === TOO_DEEP) {
    return { ...captured, status: 'failed', exitCode, errorMessage: `the last stdout line ${tooDeepReport}` };
  }
  return {
    ...captured,
    status: report?.status ?? (exitCode === 0 ? 'passed' : 'failed'),
    exitCode,
    errorMessage: null,
    ...(report?.message !== undefined && { message: report.message }),
    ...(report?.data !== undefined && { data: report.data }),
    ...(report?.patch !== undefined && { patch: report.patch }),
  };
}

/** The signal behind an exit code of 128 + n, the convention of bash and bwrap for a death by signal n. */
function signalOfExitCode(exitCode: number): string | undefined {
  if (exitCode <= 128) return undefined;
  return Object.entries(osConstants.signals).find(([, number]) => number === exitCode - 128)?.[0];
}

/** A report that nests deeper than its data may (the data is one level inside it). */
const TOO_DEEP = 'too deep';
const tooDeepReport = `${tooDeepMessage(MAX_JSON_DEPTH + 1)}: a result's data and patch may nest ${MAX_JSON_DEPTH}`;

function parseReport(line: string | null): ScriptReport | typeof TOO_DEEP | undefined {
  if (line === null || !line.startsWith('{')) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  // Deeper than any JSON the product takes: kept as the captured stdout, not carried in the run state.
  if (jsonTooDeepAt(json, MAX_JSON_DEPTH + 1) !== null) return isJsonObject(json) ? TOO_DEEP : undefined;
  const report = ScriptReport.safeParse(json);
  return report.success ? report.data : undefined;
}

function errorOutcome(error: unknown): RunOutcome {
  return errorWithoutOutput(describeError(error));
}
