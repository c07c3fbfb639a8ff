import type { DecisionOutput } from '@stagehooks/core/engine';
import type { Context } from 'aws-lambda';
import type { Logger } from '../log';
import type { StageHandlers } from '../stage';
import { fitAttempt } from './attempt-size';
import type { TaskReporter } from './ports';

type EventOf<K extends keyof StageHandlers> = Parameters<StageHandlers[K]>[0];

export interface LambdaHandlerDeps {
  reporter: TaskReporter;
  log: Logger;
}

/**
 * The Lambda handler of each Lambda-backed Task state. Most are the stage handlers as they are (middy,
 * input parsed with the state's contract); two need AWS-specific work around them:
 *
 * - AwaitReview is invoked by `lambda:invoke.waitForTaskToken`: its return value completes nothing.
 *   When the decision was made before the token arrived, this Lambda completes the task itself with
 *   SendTaskSuccess `{ decision, by, comment }`; otherwise the admin API completes it later.
 * - RunWebhook's Attempt is cut to fit the state machine's payload limit.
 */
export function createLambdaHandlers(handlers: StageHandlers, deps: LambdaHandlerDeps) {
  return {
    validateAndClaim: handlers.validateAndClaim,
    resolveEffectiveHooks: handlers.resolveEffectiveHooks,
    runWebhook: async (event: EventOf<'runWebhook'>, context: Context) =>
      fitAttempt(await handlers.runWebhook(event, context)),
    recordExecution: handlers.recordExecution,
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
