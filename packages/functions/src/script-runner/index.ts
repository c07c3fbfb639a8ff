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
export { runTaskJob, type TaskModeJob } from './task-mode';
export { executeTestJob, type TestJobDeps } from './test-job';
