import { LAMBDA_TASK_TIMEOUT_SECONDS, stateNames, type TaskStateName } from '@stagehooks/core/engine';
import type { StageHandlers } from '@stagehooks/functions/stage';
import type { Context } from 'aws-lambda';
import type { LocalEventBus, PutEventsEntry } from '../event-bus';
import { lambdaContext } from '../lambda-context';
import type { LocalTaskHandler } from '../step-functions/local-step-functions';

type Invoke = (event: never, context: Context) => Promise<unknown>;
const invoke =
  (handler: Invoke, name: string): LocalTaskHandler =>
  (input, context) =>
    handler(input as never, lambdaContext(name, context.timeoutSeconds));

/** The job a script state sends its runner: from the SQS message body, or the ECS container's env. */
function scriptJobOf(input: unknown): unknown {
  const value = input as {
    MessageBody?: { job?: unknown };
    Overrides?: { ContainerOverrides?: Array<{ Environment?: Array<{ Name: string; Value: string }> }> };
  };
  if (value.MessageBody) return value.MessageBody.job;
  const env = value.Overrides?.ContainerOverrides?.[0]?.Environment ?? [];
  const job = env.find((e) => e.Name === 'STAGEHOOKS_JOB')?.Value;
  return job ? JSON.parse(job) : undefined;
}

/**
 * Every Task state of the stage machine, dispatched to the same handlers the Lambdas run. Service
 * integrations (SQS, ECS, waitForTaskToken, PutEvents) are unwrapped to what the worker at the other
 * end would do.
 */
export function localTaskHandlers(
  handlers: StageHandlers,
  bus: LocalEventBus,
): Record<TaskStateName, LocalTaskHandler> {
  const s = stateNames;
  return {
    [s.validateAndClaim]: invoke(handlers.validateAndClaim as Invoke, 'ValidateAndClaim'),
    [s.resolveEffectiveHooks]: invoke(handlers.resolveEffectiveHooks as Invoke, 'ResolveEffectiveHooks'),
    [s.runWebhook]: invoke(handlers.runWebhook as Invoke, 'RunWebhook'),
    [s.runScriptInPool]: (input, context) =>
      handlers.runScriptAndRecord(
        scriptJobOf(input) as never,
        lambdaContext('ScriptRunner', context.timeoutSeconds),
      ),
    [s.runScriptInTask]: (input, context) =>
      handlers.runScript(scriptJobOf(input) as never, lambdaContext('ScriptRunner', context.timeoutSeconds)),
    [s.recordExecution]: invoke(handlers.recordExecution as Invoke, 'RecordExecution'),
    [s.writeExecutionLogs]: invoke(handlers.writeExecutionLogs as Invoke, 'WriteExecutionLogs'),
    [s.flagForReview]: invoke(handlers.flagForReview as Invoke, 'FlagForReview'),
    [s.awaitReview]: async (input, context) => {
      const payload = (input as { Payload: { reviewId: string; taskToken: string } }).Payload;
      const early = await handlers.awaitReview(
        payload as never,
        // The state waits up to the review timeout; its Lambda only hands the review its token.
        lambdaContext('AwaitReview', LAMBDA_TASK_TIMEOUT_SECONDS),
      );
      return early ?? context.waitForTaskToken(payload.taskToken);
    },
    [s.applyReviewDecision]: invoke(handlers.applyReviewDecision as Invoke, 'ApplyReviewDecision'),
    [s.skipRemainingHooks]: invoke(handlers.skipRemainingHooks as Invoke, 'SkipRemainingHooks'),
    [s.emitVerdict]: async (input) => {
      // On AWS the integration serialises an object Detail; the bus takes it as PutEvents does, a string.
      const entries = (input as { Entries: Array<Omit<PutEventsEntry, 'Detail'> & { Detail?: unknown }> })
        .Entries;
      const result = await bus.putEvents(
        entries.map((entry) => ({
          ...entry,
          Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail),
        })),
      );
      if (result.FailedEntryCount > 0) throw new Error(`PutEvents failed: ${JSON.stringify(result.Entries)}`);
      return result;
    },
  };
}
