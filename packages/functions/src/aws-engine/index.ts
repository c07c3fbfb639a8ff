export { ATTEMPT_BUDGET_BYTES, fitAttempt } from './attempt-size';
export { createLambdaHandlers, type LambdaHandlerDeps, type LambdaHandlers } from './lambda-handlers';
export { type AwsStageTaskParts, createAwsStageTasks } from './stage-tasks';
