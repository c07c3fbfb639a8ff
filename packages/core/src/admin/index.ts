/**
 * What the admin API does beyond reading and writing the registry, as use cases behind ports: test
 * runs, review decisions, and a job's state-machine runs. The API's routes authorize and call these;
 * nothing here knows HTTP or Lambda.
 */
export { type HookTestDeps, type HookTestRun, testHook, testRunOf } from './hook-test';
export {
  executionHistory,
  executionsOfJob,
  JobExecution,
  type JobExecutionDeps,
} from './job-executions';
export { decideReview, type ReviewDecisionDeps, type ReviewDecisionRequest } from './review-decision';
