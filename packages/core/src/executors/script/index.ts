export { type LauncherReply, type LauncherRequest, launcherEntry } from './launcher-protocol';
export {
  type CapturedOutput,
  type FinishedProcess,
  inProcessLauncher,
  type ProcessLaunch,
  type ProcessLauncher,
  parseProcStat,
  processIds,
} from './process-group';
export {
  DEFAULT_SCRIPT_LIMITS,
  ProcessScriptRunner,
  type ProcessScriptRunnerOptions,
  ScriptLimits,
} from './process-script-runner';
export {
  type ActiveScriptSandbox,
  findExecutable,
  resolveScriptSandbox,
  SCRIPT_PATH,
  type ScriptSandboxSetting,
} from './sandbox';
export { DirectoryScriptStore, type ScriptStore } from './script-store';
export { assertReachable, ScriptUser } from './script-user';
