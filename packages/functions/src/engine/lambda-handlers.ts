import {
  type LambdaFunction,
  lambdaFunctions,
  type StageTasks,
  type TaskInput,
  type TaskOutput,
} from '@stagehooks/core/engine';
import type { TaskReporter } from '@stagehooks/core/ports';
import type { Context } from 'aws-lambda';
import type { Logger } from '../log';
import { createStageHandlers, type StageHandler, type StageHandlers } from './handlers';

export interface LambdaHandlerDeps {
  reporter: TaskReporter;
  log: Logger;
}

type WaitingState = Extract<LambdaFunction, { integration: 'lambdaWaitForTaskToken' }>['state'];

/**
 * A `lambda:invoke.waitForTaskToken` Lambda: its return value completes nothing. When its work knows
 * the task's output at once (AwaitReview: the decision was made before the token arrived), the Lambda
 * completes its own task with SendTaskSuccess; otherwise whoever decides later does.
 */
function completingItsOwnTask<K extends WaitingState>(
  state: K,
  handler: StageHandler<K>,
  deps: LambdaHandlerDeps,
) {
  return async (event: TaskInput<K>, context: Context) => {
    // Throws StageTask.InvalidInput on a malformed payload; past it, `event` has the contract's shape.
    const output: TaskOutput<K> = await handler(event, context);
    const { taskToken, ...fields } = event;
    if (output === undefined) {
      deps.log.info('task waits for its token', { state, ...fields });
      return { ...fields, earlyOutput: null };
    }
    const report = await deps.reporter.succeed(taskToken, output);
    if (report === 'closed') {
      deps.log.warn('output known at once, but the task no longer waits', { state, ...fields });
    } else {
      deps.log.info('output known at once; task completed', { state, ...fields });
    }
    return { ...fields, earlyOutput: output };
  };
}

type LambdaHandlerOf<F extends LambdaFunction> = F['integration'] extends 'lambdaWaitForTaskToken'
  ? ReturnType<typeof completingItsOwnTask<Extract<F['state'], WaitingState>>>
  : StageHandlers[F['state']];

export type LambdaHandlers = { [F in LambdaFunction as F['handlerExport']]: LambdaHandlerOf<F> };

/**
 * The Lambda handler of each Lambda-backed Task state, under its `handlerExport`: the stage handler as
 * it is (middy, input parsed with the state's contract), wrapped as its integration needs.
 */
export function createLambdaHandlers(tasks: StageTasks, deps: LambdaHandlerDeps): LambdaHandlers {
  const handlers = createStageHandlers(tasks);
  return Object.fromEntries(
    lambdaFunctions.map(({ state, integration, handlerExport }) => [
      handlerExport,
      integration === 'lambdaWaitForTaskToken'
        ? completingItsOwnTask(state, handlers[state], deps)
        : handlers[state],
    ]),
  ) as LambdaHandlers;
}
