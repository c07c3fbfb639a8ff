/**
 * The stage state machine, kept once for AWS and the local stack (Amazon States Language, JSONPath:
 * the local emulator ignores JSONata). Resource ARNs are `${...}` placeholders, filled by the CDK
 * construct's definition substitutions on AWS and by `substitutePlaceholders` locally.
 *
 * Hooks run in an explicit loop (index in `$.run.index`), not a Map: a failed Map iteration does not
 * stop later ones in the local emulator, while this loop stops the same way on both engines.
 */

import {
  hookPoints,
  stageCompletedDetailType,
  stageDetachedCompletedDetailType,
  stagehooksEventSource,
} from '../domain';
import { initialRun, RunState } from './contracts';
import type { DefinitionPlaceholder } from './task-states';

/**
 * The placeholders of the service integrations; each Lambda's comes from its row in the table of
 * Task states (`definitionPlaceholders` lists them all).
 */
export const servicePlaceholders = [
  'ScriptQueueUrl',
  'ScriptClusterArn',
  'ScriptTaskDefinitionArn',
  'ScriptContainerName',
  'ScriptSubnetId',
  'ScriptSecurityGroupId',
  'EventBusName',
] as const;

/** State names as operators read them in the execution history; local handlers are keyed by them. */
export const stateNames = {
  validateAndClaim: 'ValidateAndClaim',
  claimFailed: 'ClaimFailed',
  endUnclaimedStage: 'EndUnclaimedStage',
  eventNotClaimed: 'EventNotClaimed',
  claimed: 'Claimed?',
  alreadyHandled: 'AlreadyHandled',
  eventRejected: 'EventRejected',
  resolveEffectiveHooks: 'ResolveEffectiveHooks',
  nextHook: 'NextHook?',
  runWebhook: 'RunWebhook',
  prepareScriptTask: 'PrepareScriptTask',
  runScriptInPool: 'RunScriptInPool',
  runScriptInTask: 'RunScriptInTask',
  runnerFailed: 'RunnerFailed',
  recordExecution: 'RecordExecution',
  writeExecutionLogs: 'WriteExecutionLogs',
  logsNotWritten: 'LogsNotWritten',
  afterLogs: 'AfterLogs?',
  flagForReview: 'FlagForReview',
  awaitReview: 'AwaitReview',
  reviewTimedOut: 'ReviewTimedOut',
  reviewFailed: 'ReviewFailed',
  applyReviewDecision: 'ApplyReviewDecision',
  approved: 'Approved?',
  skipRemainingHooks: 'SkipRemainingHooks',
  stageFailed: 'StageFailed',
  emitVerdict: 'EmitVerdict',
  anyDetached: 'AnyDetached?',
  verdictSent: 'VerdictSent',
  emitDetachedCompleted: 'EmitDetachedCompleted',
  stageComplete: 'StageComplete',
} as const;

export interface DefinitionOptions {
  /** How long a blocked stage waits for a review decision; default 7 days. */
  reviewTimeoutSeconds?: number;
}

export const DEFAULT_REVIEW_TIMEOUT_SECONDS = 7 * 24 * 60 * 60;
/** Above the longest hook budget (scripts: 900 s; webhooks: 60 s) so the hook's own timeout fires first. */
const SCRIPT_TASK_TIMEOUT_SECONDS = 960;
/**
 * A script in a task of its own sends a heartbeat every minute from its container's start: a container
 * that dies without reporting fails the state after this, not after the whole timeout. Above Fargate's
 * start-up (image pull included), which the first heartbeat has to cover.
 */
const SCRIPT_TASK_HEARTBEAT_SECONDS = 300;
const WEBHOOK_TASK_TIMEOUT_SECONDS = 90;
/** A stage Lambda's run, and the function timeout its deployment gives it. */
export const LAMBDA_TASK_TIMEOUT_SECONDS = 30;

const placeholder = (name: DefinitionPlaceholder) => `\${${name}}`;

/** Transient Lambda service faults: retried with backoff before the state's Catch applies. */
const lambdaRetry = {
  ErrorEquals: [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ],
  IntervalSeconds: 1,
  MaxAttempts: 3,
  BackoffRate: 2,
  JitterStrategy: 'FULL',
};

/**
 * Store writes (log, review) are retried longer: losing them would lose an execution log. Only faults
 * that can pass: an invalid task input or a bug fails the same way every time.
 */
const storeRetry = {
  ...lambdaRetry,
  ErrorEquals: [...lambdaRetry.ErrorEquals, 'StoreUnavailableError', 'States.Timeout'],
  MaxAttempts: 5,
};

/** Whatever a step could not get past ends the stage blocked, with a verdict: the pipeline never waits forever. */
const toStageFailed = { ErrorEquals: ['States.ALL'], ResultPath: '$.stageError', Next: 'StageFailed' };

/**
 * A Pass state's Parameters for the run state with `fields` set and every other RunState key copied
 * from `$.run`: derived from the schema, so a key added to RunState is never dropped on the way.
 */
function runWith(fields: Partial<RunState>) {
  return Object.fromEntries(
    RunState.keyof().options.map((key) =>
      Object.hasOwn(fields, key) ? [key, fields[key]] : [`${key}.$`, `$.run.${key}`],
    ),
  );
}

function lambdaTask(functionArn: DefinitionPlaceholder, fields: Record<string, unknown>) {
  return {
    Type: 'Task',
    Resource: placeholder(functionArn),
    TimeoutSeconds: LAMBDA_TASK_TIMEOUT_SECONDS,
    ...fields,
  };
}

export function stageStateMachineDefinition(options: DefinitionOptions = {}) {
  const reviewTimeoutSeconds = options.reviewTimeoutSeconds ?? DEFAULT_REVIEW_TIMEOUT_SECONDS;
  /** The hook to run: `$.run.current`, set by whichever step moved the loop on. */
  const hookArgs = {
    'stage.$': '$.stage',
    'hook.$': '$.run.current',
    'index.$': '$.run.index',
    'executionId.$': '$$.Execution.Id',
  };
  const runArgs = { 'stage.$': '$.stage', 'run.$': '$.run', 'executionId.$': '$$.Execution.Id' };
  const s = stateNames;
  return {
    Comment: 'stagehooks: runs the effective hooks of one pipeline stage in order and emits the verdict',
    StartAt: s.validateAndClaim,
    States: {
      [s.validateAndClaim]: lambdaTask('ValidateAndClaimFunctionArn', {
        Comment: 'Checks the stage event and claims its id, so a redelivered event runs nothing',
        Parameters: { 'event.$': '$', 'executionId.$': '$$.Execution.Id' },
        Retry: [storeRetry],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.claimError', Next: s.claimFailed }],
        Next: s.claimed,
      }),
      [s.claimFailed]: {
        Type: 'Choice',
        Comment:
          'The event could not be checked or claimed (see $.claimError): no hook ran. If it names a job and a hook point, the stage ends blocked with a verdict',
        Choices: [
          {
            And: [
              { Variable: '$.detail.jobId', IsPresent: true },
              { Variable: '$.detail.jobId', IsString: true },
              { Variable: '$.detail.hookPoint', IsPresent: true },
              { Or: hookPoints.map((point) => ({ Variable: '$.detail.hookPoint', StringEquals: point })) },
            ],
            Next: s.endUnclaimedStage,
          },
        ],
        Default: s.eventNotClaimed,
      },
      [s.endUnclaimedStage]: {
        Type: 'Pass',
        Comment: 'A blocked stage with no results, so the pipeline is not left waiting',
        Parameters: {
          stage: { 'jobId.$': '$.detail.jobId', 'hookPoint.$': '$.detail.hookPoint' },
          run: { ...initialRun(), verdict: 'blocked', blocked: true },
          'claimError.$': '$.claimError',
        },
        Next: s.emitVerdict,
      },
      [s.eventNotClaimed]: {
        Type: 'Fail',
        Error: 'StageEvent.NotClaimed',
        Cause:
          'The stage event could not be checked or claimed (see claimError in the ClaimFailed input) and names no job and hook point to send a verdict for',
      },
      [s.claimed]: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.claim.outcome', StringEquals: 'duplicate', Next: s.alreadyHandled },
          { Variable: '$.claim.outcome', StringEquals: 'rejected', Next: s.eventRejected },
        ],
        Default: s.resolveEffectiveHooks,
      },
      [s.alreadyHandled]: {
        Type: 'Succeed',
        Comment: 'This event id was claimed by an earlier execution; that one runs the hooks',
      },
      [s.eventRejected]: {
        Type: 'Fail',
        Error: 'StageEvent.Invalid',
        Cause:
          'The stage event failed validation; the reasons are in the ValidateAndClaim output and the rejected-event record',
      },
      [s.resolveEffectiveHooks]: lambdaTask('ResolveEffectiveHooksFunctionArn', {
        Comment:
          'Studio, project and scene-type hooks for this point, overridden by name, in sortOrder (detached ones last); skips those whose condition does not match',
        Parameters: runArgs,
        ResultPath: '$.run',
        Retry: [storeRetry],
        Catch: [toStageFailed],
        Next: s.nextHook,
      }),
      [s.nextHook]: {
        Type: 'Choice',
        Comment:
          'A failed block hook opens a review; the verdict goes out once the inline hooks are done (their logs written first); then the detached hooks run, and their report; else the next hook by type',
        Choices: [
          { Variable: '$.run.blocked', BooleanEquals: true, Next: s.flagForReview },
          // `current` is tested for null before its fields are read: a missing path fails a Choice.
          {
            And: [
              { Variable: '$.run.current', IsNull: true },
              { Variable: '$.run.pending[0]', IsPresent: true },
            ],
            Next: s.writeExecutionLogs,
          },
          {
            And: [
              { Variable: '$.run.current', IsNull: true },
              { Variable: '$.run.verdictSent', BooleanEquals: false },
            ],
            Next: s.emitVerdict,
          },
          { Variable: '$.run.current', IsNull: true, Next: s.emitDetachedCompleted },
          {
            And: [
              { Variable: '$.run.current.mode', StringEquals: 'detached' },
              { Variable: '$.run.verdictSent', BooleanEquals: false },
              { Variable: '$.run.pending[0]', IsPresent: true },
            ],
            Next: s.writeExecutionLogs,
          },
          {
            And: [
              { Variable: '$.run.current.mode', StringEquals: 'detached' },
              { Variable: '$.run.verdictSent', BooleanEquals: false },
            ],
            Next: s.emitVerdict,
          },
          { Variable: '$.run.current.type', StringEquals: 'webhook', Next: s.runWebhook },
          { Variable: '$.run.current.isolation', StringEquals: 'task', Next: s.prepareScriptTask },
        ],
        Default: s.runScriptInPool,
      },
      [s.runWebhook]: {
        Type: 'Task',
        Comment: 'Signed HTTP call with retries inside the hook budget; records the execution',
        Resource: placeholder('RunWebhookFunctionArn'),
        TimeoutSeconds: WEBHOOK_TASK_TIMEOUT_SECONDS,
        Parameters: { ...hookArgs, 'run.$': '$.run' },
        ResultPath: '$.run',
        Retry: [lambdaRetry],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.runnerError', Next: s.runnerFailed }],
        Next: s.nextHook,
      },
      [s.runScriptInPool]: {
        Type: 'Task',
        Comment:
          'A warm Fargate runner takes the job from the queue, runs and records it, and reports back with the task token',
        Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
        TimeoutSeconds: SCRIPT_TASK_TIMEOUT_SECONDS,
        Parameters: {
          QueueUrl: placeholder('ScriptQueueUrl'),
          MessageBody: { 'taskToken.$': '$$.Task.Token', job: { ...hookArgs, 'run.$': '$.run' } },
        },
        // The runner records the run as RunWebhook does and reports the run state.
        ResultPath: '$.run',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.runnerError', Next: s.runnerFailed }],
        Next: s.nextHook,
      },
      [s.prepareScriptTask]: {
        Type: 'Pass',
        Comment: 'The job for a Fargate task of its own, passed in its environment',
        Parameters: {
          ...hookArgs,
          flow: { 'stage.$': '$.run.stage', 'outputs.$': '$.run.outputs', 'verdict.$': '$.run.verdict' },
        },
        ResultPath: '$.job',
        Next: s.runScriptInTask,
      },
      [s.runScriptInTask]: {
        Type: 'Task',
        Comment: 'A Fargate task of its own for this run; the container reports back with the task token',
        Resource: 'arn:aws:states:::ecs:runTask.waitForTaskToken',
        TimeoutSeconds: SCRIPT_TASK_TIMEOUT_SECONDS,
        HeartbeatSeconds: SCRIPT_TASK_HEARTBEAT_SECONDS,
        Parameters: {
          Cluster: placeholder('ScriptClusterArn'),
          TaskDefinition: placeholder('ScriptTaskDefinitionArn'),
          LaunchType: 'FARGATE',
          NetworkConfiguration: {
            AwsvpcConfiguration: {
              Subnets: [placeholder('ScriptSubnetId')],
              SecurityGroups: [placeholder('ScriptSecurityGroupId')],
              AssignPublicIp: 'DISABLED',
            },
          },
          Overrides: {
            ContainerOverrides: [
              {
                Name: placeholder('ScriptContainerName'),
                Environment: [
                  { Name: 'STAGEHOOKS_TASK_TOKEN', 'Value.$': '$$.Task.Token' },
                  { Name: 'STAGEHOOKS_JOB', 'Value.$': 'States.JsonToString($.job)' },
                ],
              },
            ],
          },
        },
        ResultPath: '$.attempt',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.runnerError', Next: s.runnerFailed }],
        Next: s.recordExecution,
      },
      [s.runnerFailed]: {
        Type: 'Pass',
        Comment: 'The runner itself failed (crash, timeout, service error): recorded as status error',
        Parameters: { runnerError: { 'error.$': '$.runnerError.Error', 'cause.$': '$.runnerError.Cause' } },
        ResultPath: '$.attempt',
        Next: s.recordExecution,
      },
      [s.recordExecution]: lambdaTask('RecordExecutionFunctionArn', {
        Comment:
          'Records a script run in a task of its own, or a failed runner; applies the failure mode and updates the verdict',
        Parameters: { ...hookArgs, 'attempt.$': '$.attempt', 'run.$': '$.run' },
        ResultPath: '$.run',
        Retry: [storeRetry],
        Catch: [toStageFailed],
        Next: s.nextHook,
      }),
      [s.writeExecutionLogs]: lambdaTask('WriteExecutionLogsFunctionArn', {
        Comment:
          'Writes the execution logs still pending (a write during the loop failed) before the verdict',
        Parameters: runArgs,
        ResultPath: '$.run',
        Retry: [storeRetry],
        // The verdict goes out even so: the pipeline never waits; the logs stay in this history.
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.logsError', Next: s.logsNotWritten }],
        Next: s.afterLogs,
      }),
      [s.logsNotWritten]: {
        Type: 'Pass',
        Comment:
          'The pending logs could not be written (see $.logsError): the verdict says so, and they stay in this history',
        Parameters: {
          message:
            'the execution logs of the results without a logId could not be written; they are in run.pending of this execution history',
          'failure.$': '$.logsError',
        },
        ResultPath: '$.run.logsError',
        Next: s.afterLogs,
      },
      [s.afterLogs]: {
        Type: 'Choice',
        Comment: 'Logs written (or not): the verdict, or, once it is out, the detached hooks report',
        Choices: [{ Variable: '$.run.verdictSent', BooleanEquals: true, Next: s.emitDetachedCompleted }],
        Default: s.emitVerdict,
      },
      [s.flagForReview]: lambdaTask('FlagForReviewFunctionArn', {
        Comment: 'A block hook failed: opens a review and announces "Stage Hooks Blocked"',
        Parameters: runArgs,
        ResultPath: '$.review',
        Retry: [storeRetry],
        Catch: [toStageFailed],
        Next: s.awaitReview,
      }),
      [s.awaitReview]: {
        Type: 'Task',
        Comment: 'Waits for an admin to approve or reject the review, up to the review timeout',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        TimeoutSeconds: reviewTimeoutSeconds,
        Parameters: {
          FunctionName: placeholder('AwaitReviewFunctionArn'),
          Payload: { 'reviewId.$': '$.review.reviewId', 'taskToken.$': '$$.Task.Token' },
        },
        ResultPath: '$.decision',
        Retry: [{ ...storeRetry, ErrorEquals: [...lambdaRetry.ErrorEquals, 'StoreUnavailableError'] }],
        Catch: [
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.decisionError', Next: s.reviewTimedOut },
          // Only a deliberate SendTaskFailure rejects; a failing waiter is not a human decision.
          { ErrorEquals: ['Review.Rejected'], ResultPath: '$.decisionError', Next: s.reviewFailed },
          toStageFailed,
        ],
        Next: s.applyReviewDecision,
      },
      [s.reviewTimedOut]: {
        Type: 'Pass',
        Parameters: {
          decision: 'expired',
          by: 'stagehooks',
          comment: 'no decision within the review timeout',
        },
        ResultPath: '$.decision',
        Next: s.applyReviewDecision,
      },
      [s.reviewFailed]: {
        Type: 'Pass',
        Comment: 'SendTaskFailure with error Review.Rejected on the review token is a rejection',
        Parameters: { decision: 'reject', by: 'stagehooks', 'comment.$': '$.decisionError.Cause' },
        ResultPath: '$.decision',
        Next: s.applyReviewDecision,
      },
      [s.applyReviewDecision]: lambdaTask('ApplyReviewDecisionFunctionArn', {
        Comment: 'Closes the review and records the decision in the stage verdict',
        Parameters: {
          'reviewId.$': '$.review.reviewId',
          'decision.$': '$.decision',
          'run.$': '$.run',
          'stage.$': '$.stage',
          'executionId.$': '$$.Execution.Id',
        },
        ResultPath: '$.run',
        Retry: [storeRetry],
        Catch: [toStageFailed],
        Next: s.approved,
      }),
      [s.approved]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.run.blocked', BooleanEquals: false, Next: s.nextHook }],
        Default: s.skipRemainingHooks,
      },
      [s.skipRemainingHooks]: lambdaTask('SkipRemainingHooksFunctionArn', {
        Comment: 'The block stands: the hooks after it are logged as skipped',
        Parameters: runArgs,
        ResultPath: '$.run',
        Retry: [storeRetry],
        Catch: [toStageFailed],
        Next: s.emitVerdict,
      }),
      [s.stageFailed]: {
        Type: 'Pass',
        Comment:
          'A step failed for good (see $.stageError): the stage ends blocked, with its results so far and its logs written',
        Parameters: runWith({ current: null, verdict: 'blocked', blocked: true }),
        ResultPath: '$.run',
        Next: s.writeExecutionLogs,
      },
      [s.emitVerdict]: putEventsTask(
        'Tells the pipeline the stage verdict: "Stage Hooks Completed", with what the hooks handed on',
        stageCompletedDetailType,
        {
          'jobId.$': '$.stage.jobId',
          'hookPoint.$': '$.stage.hookPoint',
          'verdict.$': '$.run.verdict',
          'executionId.$': '$$.Execution.Id',
          'results.$': '$.run.results',
          'review.$': '$.run.review',
          'logsError.$': '$.run.logsError',
          'outputs.$': '$.run.outputs',
          'stage.$': '$.run.stage',
          'patches.$': '$.run.patches',
        },
        s.anyDetached,
      ),
      [s.anyDetached]: {
        Type: 'Choice',
        Comment: 'Detached hooks left to run, or skipped ones to report: they come after the verdict',
        Choices: [
          { Not: { Variable: '$.run.current', IsNull: true }, Next: s.verdictSent },
          { Variable: '$.run.detachedResults[0]', IsPresent: true, Next: s.verdictSent },
        ],
        Default: s.stageComplete,
      },
      [s.verdictSent]: {
        Type: 'Pass',
        Comment:
          'The pipeline has its verdict; the detached hooks run now, and nothing waits for them (logsError now speaks of their logs)',
        Parameters: runWith({ verdictSent: true, logsError: null }),
        ResultPath: '$.run',
        Next: s.nextHook,
      },
      [s.emitDetachedCompleted]: putEventsTask(
        'The detached hooks are done: "Stage Hooks Detached Completed", with their results and log ids',
        stageDetachedCompletedDetailType,
        {
          'jobId.$': '$.stage.jobId',
          'hookPoint.$': '$.stage.hookPoint',
          'executionId.$': '$$.Execution.Id',
          'results.$': '$.run.detachedResults',
          'logsError.$': '$.run.logsError',
        },
        s.stageComplete,
      ),
      [s.stageComplete]: { Type: 'Succeed' },
    },
  };
}

/** A putEvents task that sends one stagehooks event of `detailType` to the bus, retried on any error. */
function putEventsTask(comment: string, detailType: string, detail: Record<string, string>, next: string) {
  return {
    Type: 'Task',
    Comment: comment,
    Resource: 'arn:aws:states:::events:putEvents',
    TimeoutSeconds: LAMBDA_TASK_TIMEOUT_SECONDS,
    Parameters: {
      Entries: [
        {
          EventBusName: placeholder('EventBusName'),
          Source: stagehooksEventSource,
          DetailType: detailType,
          Detail: detail,
        },
      ],
    },
    ResultPath: null,
    Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 5, BackoffRate: 2 }],
    Next: next,
  };
}

export type StageStateMachineDefinition = ReturnType<typeof stageStateMachineDefinition>;

/** Replaces every `${Name}` in the definition's strings, failing loudly on one left unfilled. */
export function substitutePlaceholders<T>(definition: T, values: Record<DefinitionPlaceholder, string>): T {
  const text = JSON.stringify(definition).replace(/\$\{([A-Za-z0-9]+)\}/g, (_match, name: string) => {
    const value = values[name as DefinitionPlaceholder];
    if (value === undefined) throw new Error(`no value for definition placeholder \${${name}}`);
    return JSON.stringify(value).slice(1, -1);
  });
  return JSON.parse(text) as T;
}
