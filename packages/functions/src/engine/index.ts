export { ATTEMPT_BUDGET_BYTES, fitAttempt } from './attempt-size';
export { type AwsStageTaskParts, createAwsStageTasks } from './aws-stage-tasks';
export { engineLambdas, scriptRunnerBundle } from './deployment';
export { createStageHandlers, type StageHandlers } from './handlers';
export { createLambdaHandlers, type LambdaHandlerDeps, type LambdaHandlers } from './lambda-handlers';
