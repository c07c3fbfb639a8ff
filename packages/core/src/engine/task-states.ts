/**
 * Every Task state of the stage machine, defined once: its contract (the input its worker parses), the
 * work it does, and how Step Functions reaches that worker (the service integration, with the
 * definition placeholder of its Lambda when it has one). The Lambda handlers, the Lambda-backed
 * definition placeholders, the local stack's dispatch, the script runner's jobs and the list of
 * functions the CDK stacks deploy are all derived from this table: adding a Task state touches the
 * definition and this table, nothing else.
 */
import type { z } from 'zod';
import {
  ApplyReviewDecisionArgs,
  AwaitReviewArgs,
  HookTaskArgs,
  RecordExecutionArgs,
  ResolveEffectiveHooksArgs,
  RunHookArgs,
  RunStepArgs,
  ValidateAndClaimArgs,
} from './contracts';
import { servicePlaceholders, stateNames } from './definition';
import type { StageTasks } from './stage-tasks';

/** A Lambda's ARN, as the definition names it: filled by the CDK construct, or locally by a fake. */
type FunctionArnPlaceholder = `${string}FunctionArn`;

/**
 * How Step Functions hands the state's input to its worker, and how the worker's answer comes back.
 * The local stack unwraps each the way the worker at the other end would (`local/src/engine`).
 */
type Integration =
  /** `Resource` is the Lambda's ARN: the state's Parameters are the payload, its answer the result. */
  | { kind: 'lambda'; placeholder: FunctionArnPlaceholder }
  /**
   * `lambda:invoke.waitForTaskToken`: the payload is `Parameters.Payload`, with the task token in it;
   * SendTaskSuccess on that token completes the state. The work answers the task's output when it is
   * known at once (the Lambda then completes its own task), undefined when someone else will.
   */
  | { kind: 'lambdaWaitForTaskToken'; placeholder: FunctionArnPlaceholder }
  /** `sqs:sendMessage.waitForTaskToken`: the job is `MessageBody.job`; a pooled script runner reports. */
  | { kind: 'scriptQueue' }
  /** `ecs:runTask.waitForTaskToken`: the job is the container's `STAGEHOOKS_JOB` (JSON); it reports. */
  | { kind: 'scriptTask' }
  /** `events:putEvents`: `Parameters.Entries` go on the bus; no worker of ours. */
  | { kind: 'putEvents' };

type WorkerIntegration = Exclude<Integration, { kind: 'putEvents' }>;

interface WorkerStateDefinition<C extends z.ZodType, R, I extends WorkerIntegration> {
  /** The input as the worker parses it (`StageTask.InvalidInput` when it does not fit). */
  contract: C;
  work: (tasks: StageTasks, input: z.output<C>) => Promise<R>;
  integration: I;
}

/** A state whose work runs in a worker of ours (a Lambda or the script runner). */
function worker<
  C extends z.ZodType,
  R,
  const I extends Exclude<WorkerIntegration, { kind: 'lambdaWaitForTaskToken' }>,
>(state: WorkerStateDefinition<C, R, I>) {
  return state;
}

/**
 * A `lambda:invoke.waitForTaskToken` state: its contract carries the token, and its work answers the
 * task's output, or undefined to leave the task waiting for a SendTaskSuccess from elsewhere.
 */
function waitingWorker<
  C extends z.ZodType<{ taskToken: string }>,
  R extends object,
  const I extends Extract<WorkerIntegration, { kind: 'lambdaWaitForTaskToken' }>,
>(state: WorkerStateDefinition<C, R | undefined, I>) {
  return state;
}

const lambda = <const P extends FunctionArnPlaceholder>(placeholder: P) =>
  ({ kind: 'lambda', placeholder }) as const;

const s = stateNames;

export const taskStateTable = {
  [s.validateAndClaim]: worker({
    contract: ValidateAndClaimArgs,
    work: (tasks, { event, executionId }) => tasks.validateAndClaim(event, executionId),
    integration: lambda('ValidateAndClaimFunctionArn'),
  }),
  [s.resolveEffectiveHooks]: worker({
    contract: ResolveEffectiveHooksArgs,
    work: (tasks, { stage, run, executionId }) => tasks.resolveEffectiveHooks(stage, run, executionId),
    integration: lambda('ResolveEffectiveHooksFunctionArn'),
  }),
  // A large webhook result is logged at once, in full; only small ones wait in the state.
  [s.runWebhook]: worker({
    contract: RunHookArgs,
    work: (tasks, args) => tasks.runWebhook(args),
    integration: lambda('RunWebhookFunctionArn'),
  }),
  [s.runScriptInPool]: worker({
    contract: RunHookArgs,
    work: (tasks, args) => tasks.runScriptAndRecord(args),
    integration: { kind: 'scriptQueue' },
  }),
  [s.runScriptInTask]: worker({
    contract: HookTaskArgs,
    work: (tasks, args) => tasks.runScript(args),
    integration: { kind: 'scriptTask' },
  }),
  [s.recordExecution]: worker({
    contract: RecordExecutionArgs,
    work: (tasks, args) => tasks.recordExecution(args),
    integration: lambda('RecordExecutionFunctionArn'),
  }),
  [s.writeExecutionLogs]: worker({
    contract: RunStepArgs,
    work: (tasks, args) => tasks.writeExecutionLogs(args),
    integration: lambda('WriteExecutionLogsFunctionArn'),
  }),
  [s.flagForReview]: worker({
    contract: RunStepArgs,
    work: (tasks, args) => tasks.flagForReview(args),
    integration: lambda('FlagForReviewFunctionArn'),
  }),
  // A decision made before the token arrived (the admin was quick) completes the task at once.
  [s.awaitReview]: waitingWorker({
    contract: AwaitReviewArgs,
    work: (tasks, { reviewId, taskToken }) => tasks.awaitReview(reviewId, taskToken),
    integration: { kind: 'lambdaWaitForTaskToken', placeholder: 'AwaitReviewFunctionArn' },
  }),
  [s.applyReviewDecision]: worker({
    contract: ApplyReviewDecisionArgs,
    work: (tasks, args) => tasks.applyReviewDecision(args),
    integration: lambda('ApplyReviewDecisionFunctionArn'),
  }),
  [s.skipRemainingHooks]: worker({
    contract: RunStepArgs,
    work: (tasks, args) => tasks.skipRemainingHooks(args),
    integration: lambda('SkipRemainingHooksFunctionArn'),
  }),
  [s.emitVerdict]: { integration: { kind: 'putEvents' } },
  [s.emitDetachedCompleted]: { integration: { kind: 'putEvents' } },
} as const;

type TaskStateTable = typeof taskStateTable;
export type TaskStateName = keyof TaskStateTable;
/** The states whose work runs in a worker of ours: every Task state but the pure service integrations. */
export type WorkerStateName = {
  [K in TaskStateName]: TaskStateTable[K] extends { work: unknown } ? K : never;
}[TaskStateName];
type LambdaStateName = {
  [K in TaskStateName]: TaskStateTable[K]['integration'] extends { placeholder: string } ? K : never;
}[TaskStateName];

/** A worker state's input, as its contract parses it, and what its work answers. */
export type TaskInput<K extends WorkerStateName> = z.output<TaskStateTable[K]['contract']>;
export type TaskOutput<K extends WorkerStateName> = Awaited<ReturnType<TaskStateTable[K]['work']>>;

/** One worker state's row, its contract and work typed together. */
export interface WorkerState<K extends WorkerStateName> {
  contract: z.ZodType<TaskInput<K>>;
  work: (tasks: StageTasks, input: TaskInput<K>) => Promise<TaskOutput<K>>;
  integration: TaskStateTable[K]['integration'];
}

/** The worker rows as one mapped type: indexed by a generic name, a row keeps its contract and work together. */
const workerStates: { [K in WorkerStateName]: WorkerState<K> } = taskStateTable;

/** The row of worker state `name`, typed so that its work takes what its contract parses. */
export function workerState<K extends WorkerStateName>(name: K): WorkerState<K> {
  return workerStates[name];
}

export const taskStateNames = Object.keys(taskStateTable) as TaskStateName[];

export const isWorkerState = (name: TaskStateName): name is WorkerStateName => 'work' in taskStateTable[name];
export const workerStateNames = taskStateNames.filter(isWorkerState);

type LambdaIntegration<K extends LambdaStateName> = TaskStateTable[K]['integration'];

/** One Lambda-backed Task state as the CDK stacks deploy it. */
type LambdaFunctionOf<K extends LambdaStateName> = {
  state: K;
  integration: LambdaIntegration<K>['kind'];
  /** The function's logical name: `ValidateAndClaim` -> `ValidateAndClaimFunction`. */
  logicalName: `${K}Function`;
  /** Its handler's name in the engine bundle: `ValidateAndClaim` -> `validateAndClaim`. */
  handlerExport: Uncapitalize<K>;
  /** Its ARN fills this placeholder of the definition. */
  placeholder: LambdaIntegration<K>['placeholder'];
};
export type LambdaFunction = { [K in LambdaStateName]: LambdaFunctionOf<K> }[LambdaStateName];

const hasLambda = (name: TaskStateName): name is LambdaStateName =>
  'placeholder' in taskStateTable[name].integration;

function lambdaFunctionOf<K extends LambdaStateName>(state: K): LambdaFunctionOf<K> {
  const integration: LambdaIntegration<K> = taskStateTable[state].integration;
  return {
    state,
    integration: integration.kind,
    logicalName: `${state}Function`,
    // A template literal type is declared, not computed: this is what Uncapitalize<K> says.
    handlerExport: `${state.charAt(0).toLowerCase()}${state.slice(1)}` as Uncapitalize<K>,
    placeholder: integration.placeholder,
  };
}

/** The Lambda-backed Task states, in the table's order (one union member per state, hence the cast). */
export const lambdaFunctions = taskStateNames.filter(hasLambda).map(lambdaFunctionOf) as LambdaFunction[];

type LambdaPlaceholder = TaskStateTable[LambdaStateName]['integration']['placeholder'];
export type DefinitionPlaceholder = LambdaPlaceholder | (typeof servicePlaceholders)[number];

/** Every placeholder the definition uses; the infrastructure must supply each. */
export const definitionPlaceholders: readonly DefinitionPlaceholder[] = [
  ...lambdaFunctions.map((fn) => fn.placeholder),
  ...servicePlaceholders,
];
