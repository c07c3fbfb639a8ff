import type { DecisionOutput } from '@stagehooks/core/engine';
import type { TaskReporter } from '@stagehooks/core/ports';
import type { Context } from 'aws-lambda';
import type { Logger } from '../log';
import type { StageHandlers } from '../stage';

type EventOf<K extends keyof StageHandlers> = Parameters<StageHandlers[K]>[0];

export interface LambdaHandlerDeps {
  reporter: TaskReporter;
  log: Logger;
}

/**
 * The Lambda handler of each Lambda-backed Task state. Most are the stage handlers as they are (middy,
 * input parsed with the state's contract); one needs AWS-specific work around it:
 *
 * - AwaitReview is invoked by `lambda:invoke.waitForTaskToken`: its return value completes nothing.
 *   When the decision was made before the token arrived, this Lambda completes the task itself with
 *   SendTaskSuccess `{ decision, by, comment }`; otherwise the admin API completes it later.
 */
export function createLambdaHandlers(handlers: StageHandlers, deps: LambdaHandlerDeps) {
  return {
    validateAndClaim: handlers.validateAndClaim,
    resolveEffectiveHooks: handlers.resolveEffectiveHooks,
    // A large webhook result is logged at once, in full; only small ones wait in the state.
    runWebhook: handlers.runWebhook,
    recordExecution: handlers.recordExecution,
    writeExecutionLogs: handlers.writeExecutionLogs,
    flagForReview: handlers.flagForReview,
    awaitReview: async (event: EventOf<'awaitReview'>, context: Context) => {
      // Throws StageTask.InvalidInput on a malformed payload; past it, `event` has the contract's shape.
      const early = await handlers.awaitReview(event, context);
      const { reviewId, taskToken } = event;
      if (early === undefined) {
        deps.log.info('review waits for a decision', { reviewId });
        return { reviewId, earlyDecision: null };
      }
      const decision: DecisionOutput = { decision: early.decision, by: early.by, comment: early.comment };
      const report = await deps.reporter.succeed(taskToken, decision);
      if (report === 'closed') {
        deps.log.warn('review decided early, but its task no longer waits', { reviewId });
      } else {
        deps.log.info('review decided early; task completed', { reviewId, decision: decision.decision });
      }
      return { reviewId, earlyDecision: decision };
    },
    applyReviewDecision: handlers.applyReviewDecision,
    skipRemainingHooks: handlers.skipRemainingHooks,
  };
}

export type LambdaHandlers = ReturnType<typeof createLambdaHandlers>;
