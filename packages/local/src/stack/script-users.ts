import { existsSync } from 'node:fs';
import {
  type ActiveScriptSandbox,
  assertReachable,
  findExecutable,
  type ProcessScriptRunnerOptions,
  SCRIPT_PATH,
} from '@stagehooks/core/executors/script';
import type { LocalConfig } from '../config';

/** Who the local stack's scripts run as: ProcessScriptRunner's `runAs` options, and why not, if not. */
export interface LocalScriptUsers {
  options: Pick<ProcessScriptRunnerOptions, 'runAs' | 'runAsUsers'>;
  /** One line for the operator when a root stack runs scripts as root; null otherwise. */
  warning: string | null;
}

/**
 * A stack running as root runs scripts as `config.scriptUser` and the uids below it, one per script
 * running at once: as root no process limit holds, and a script could do anything. Sandboxed, bwrap
 * binds what scripts need, so this always works. Unsandboxed, the scripts' uid must reach bash, python3
 * and the venvs root by their paths: when it cannot, scripts run as root, with a warning naming why.
 * A stack run by another user runs scripts as that user (it cannot switch users).
 */
export async function localScriptUsers(
  config: Pick<LocalConfig, 'scriptUser' | 'scriptUsers' | 'dataDir'>,
  sandbox: Pick<ActiveScriptSandbox, 'mode'>,
  searchPath: string = process.env.PATH ?? SCRIPT_PATH,
): Promise<LocalScriptUsers> {
  if (process.geteuid?.() !== 0) return { options: {}, warning: null };
  const options = { runAs: config.scriptUser, runAsUsers: config.scriptUsers };
  if (sandbox.mode === 'bubblewrap') return { options, warning: null };
  const needed: Array<[string, string | null]> = [
    ['bash', findExecutable('bash', searchPath)],
    ['python3', findExecutable('python3', searchPath)],
    ['the venvs root', existsSync(config.dataDir.venvs) ? config.dataDir.venvs : null],
  ];
  for (const [subject, path] of needed) {
    if (path === null) continue;
    try {
      await assertReachable(path, config.scriptUser, subject);
    } catch (error) {
      return {
        options: {},
        warning: `script hooks run unsandboxed as root, without a process limit: ${(error as Error).message}; install bubblewrap, or make it reachable`,
      };
    }
  }
  return { options, warning: null };
}
