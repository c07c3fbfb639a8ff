export { TaskError } from './errors';
export {
  type ExecutionRecord,
  type ExecutionStatus,
  ExecutionStore,
  type ExecutionSummary,
} from './execution-store';
export { type HistoryEvent, toHistory } from './history';
export {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
  type LocalTaskHandler,
  type TaskContext,
} from './local-step-functions';
