import middy, { type MiddlewareObj, type MiddyfiedHandler } from '@middy/core';
import { parseOrThrow } from '@stagehooks/core/domain';
import {
  type StageTasks,
  type TaskInput,
  type TaskOutput,
  type WorkerStateName,
  workerState,
  workerStateNames,
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

/** The handler of one worker state: its contract parsed by middleware, then its work on the stage tasks. */
function stageHandler<K extends WorkerStateName>(tasks: StageTasks, state: K): StageHandler<K> {
  const { contract, work } = workerState(state);
  return task(contract, (input) => work(tasks, input));
}

export type StageHandler<K extends WorkerStateName> = MiddyfiedHandler<
  TaskInput<K>,
  TaskOutput<K>,
  Error,
  Context
>;

/**
 * One handler per worker state of the stage machine (every Task state but the pure service
 * integrations), keyed by state name and derived from the table of Task states. The Lambda entry point
 * builds them once per cold start; the local stack builds the same handlers and calls them in-process.
 */
export function createStageHandlers(tasks: StageTasks): StageHandlers {
  return Object.fromEntries(
    workerStateNames.map((state) => [state, stageHandler(tasks, state)]),
  ) as StageHandlers;
}

export type StageHandlers = { [K in WorkerStateName]: StageHandler<K> };
