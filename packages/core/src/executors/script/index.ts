export {
  DEFAULT_SCRIPT_LIMITS,
  ProcessScriptRunner,
  type ProcessScriptRunnerOptions,
  ScriptLimits,
} from './process-script-runner';
export { type ActiveScriptSandbox, resolveScriptSandbox, type ScriptSandboxSetting } from './sandbox';
export { DirectoryScriptStore, type ScriptStore } from './script-store';
export { ScriptUser } from './script-user';
