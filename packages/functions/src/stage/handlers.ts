import middy, { type MiddlewareObj } from '@middy/core';
import { parseOrThrow } from '@stagehooks/core/domain';
import {
  ApplyReviewDecisionArgs,
  AwaitReviewArgs,
  HookTaskArgs,
  RecordExecutionArgs,
  ResolveEffectiveHooksArgs,
  RunHookArgs,
  RunStepArgs,
  type StageTasks,
  ValidateAndClaimArgs,
} from '@stagehooks/core/engine';
import type { Context } from 'aws-lambda';
import { z } from 'zod';

/**
 * Parses the task input with its contract schema: a malformed payload fails the task with a
 * `StageTask.InvalidInput` error naming the fields, instead of running on bad data. The whole run state
 * is parsed on every hook, so the schema is compiled once (`z.compile`, zod's ahead-of-time parser,
 * several times faster than its runtime one); invalid input falls back to the runtime parser, so the
 * errors are the same. Compiled at the first parse (a few ms), so a cold start compiles only the
 * contract its Lambda takes. Strict: a contract the compiler cannot take fails its task (in the engine
 * tests) instead of parsing slower unnoticed.
 */
function parsedInput<S extends z.ZodType>(schema: S): MiddlewareObj<unknown, unknown, Error, Context> {
  let contract: S | undefined;
  return {
    before: (request) => {
      contract ??= z.compile(schema, { strict: true });
      try {
        request.event = parseOrThrow(contract, request.event, 'task input');
      } catch (error) {
        const invalid = new Error((error as Error).message, { cause: error });
        invalid.name = 'StageTask.InvalidInput';
        throw invalid;
      }
    },
  };
}

function task<S extends z.ZodType, R>(schema: S, work: (input: z.output<S>) => Promise<R>) {
  const handler = async (input: z.output<S>): Promise<R> => work(input);
  return middy<z.output<S>, R, Error, Context>(handler).use(
    parsedInput(schema) as MiddlewareObj<z.output<S>, R, Error, Context>,
  );
}

/**
 * One Lambda handler per Task state of the stage machine. The Lambda entry points build them once per
 * cold start; the local stack builds the same handlers and calls them in-process.
 */
export function createStageHandlers(tasks: StageTasks) {
  return {
    validateAndClaim: task(ValidateAndClaimArgs, ({ event, executionId }) =>
      tasks.validateAndClaim(event, executionId),
    ),
    resolveEffectiveHooks: task(ResolveEffectiveHooksArgs, ({ stage, run }) =>
      tasks.resolveEffectiveHooks(stage, run),
    ),
    runWebhook: task(RunHookArgs, (args) => tasks.runWebhook(args)),
    runScript: task(HookTaskArgs, (args) => tasks.runScript(args)),
    runScriptAndRecord: task(RunHookArgs, (args) => tasks.runScriptAndRecord(args)),
    recordExecution: task(RecordExecutionArgs, (args) => tasks.recordExecution(args)),
    writeExecutionLogs: task(RunStepArgs, (args) => tasks.writeExecutionLogs(args)),
    flagForReview: task(RunStepArgs, (args) => tasks.flagForReview(args)),
    awaitReview: task(AwaitReviewArgs, ({ reviewId, taskToken }) => tasks.awaitReview(reviewId, taskToken)),
    applyReviewDecision: task(ApplyReviewDecisionArgs, (args) => tasks.applyReviewDecision(args)),
    skipRemainingHooks: task(RunStepArgs, (args) => tasks.skipRemainingHooks(args)),
  };
}

export type StageHandlers = ReturnType<typeof createStageHandlers>;
