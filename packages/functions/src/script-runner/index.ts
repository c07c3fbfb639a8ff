export {
  executeJob,
  graceAfter,
  type JobEnd,
  type JobResult,
  reportInvalidJob,
  runnerErrors,
  type ScriptJobDeps,
  ScriptJobMessage,
  untilAborted,
} from './job';
export { ScriptJobPool, type ScriptJobPoolOptions } from './pool';
export type { QueuedJob, ScriptJobQueue } from './ports';
export { runTaskJob, type TaskModeJob } from './task-mode';
