import {
  isWorkerState,
  LAMBDA_TASK_TIMEOUT_SECONDS,
  type TaskStateName,
  taskStateNames,
  type WorkerStateName,
  workerState,
} from '@stagehooks/core/engine';
import type { StageHandlers } from '@stagehooks/functions/engine';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { LocalEventBus, PutEventsEntry } from '../event-bus';
import { lambdaContext } from '../lambda-context';
import type { LocalTaskHandler } from '../step-functions/local-step-functions';

type Invoke = (event: never, context: Context) => Promise<unknown>;

/** Where each service integration puts the worker's input in the state's Parameters (see the definition). */
const InvokeParameters = z.object({ Payload: z.unknown() });
const SendMessageParameters = z.object({ MessageBody: z.object({ job: z.unknown() }) });
const RunTaskParameters = z.object({
  Overrides: z.object({
    ContainerOverrides: z.array(
      z.object({ Environment: z.array(z.object({ Name: z.string(), Value: z.string() })) }),
    ),
  }),
});
const TokenPayload = z.object({ taskToken: z.string().min(1) });

/** The job of RunScriptInTask: the container's STAGEHOOKS_JOB, as JSON. */
function containerJobOf(input: unknown): unknown {
  const env = RunTaskParameters.safeParse(input).data?.Overrides.ContainerOverrides[0]?.Environment ?? [];
  const job = env.find((e) => e.Name === 'STAGEHOOKS_JOB')?.Value;
  return job ? JSON.parse(job) : undefined;
}

/**
 * A worker state, unwrapped as its integration hands the input to the worker at the other end, then run
 * by the same handler the Lambdas (or the script runner) run. An input that does not unwrap reaches the
 * handler as undefined, which fails it with `StageTask.InvalidInput`, as a malformed payload does.
 */
function workerDispatch(state: WorkerStateName, handler: Invoke): LocalTaskHandler {
  const asLambda = (timeoutSeconds: number) => lambdaContext(state, timeoutSeconds);
  const { integration } = workerState(state);
  switch (integration.kind) {
    case 'lambda':
      return (input, context) => handler(input as never, asLambda(context.timeoutSeconds));
    case 'scriptQueue':
      return (input, context) =>
        handler(
          SendMessageParameters.safeParse(input).data?.MessageBody.job as never,
          asLambda(context.timeoutSeconds),
        );
    case 'scriptTask':
      return (input, context) => handler(containerJobOf(input) as never, asLambda(context.timeoutSeconds));
    case 'lambdaWaitForTaskToken':
      return async (input, context) => {
        const payload = InvokeParameters.safeParse(input).data?.Payload;
        // The state waits up to its own timeout; its Lambda only gets a Lambda's run (to hand over the token).
        const early = await handler(payload as never, asLambda(LAMBDA_TASK_TIMEOUT_SECONDS));
        // Past the handler, the payload has its contract's shape, the token included.
        return early ?? context.waitForTaskToken(TokenPayload.parse(payload).taskToken);
      };
  }
}

/** `events:putEvents`: the entries go on the local bus, as PutEvents takes them. */
function putEventsDispatch(bus: LocalEventBus): LocalTaskHandler {
  return async (input) => {
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
  };
}

/**
 * Every Task state of the stage machine, derived from the table of Task states: each service
 * integration unwrapped to what the worker at the other end would do, and dispatched to the same
 * handlers the Lambdas run.
 */
export function localTaskHandlers(
  handlers: StageHandlers,
  bus: LocalEventBus,
): Record<TaskStateName, LocalTaskHandler> {
  return Object.fromEntries(
    taskStateNames.map((state) => [
      state,
      isWorkerState(state) ? workerDispatch(state, handlers[state]) : putEventsDispatch(bus),
    ]),
  ) as Record<TaskStateName, LocalTaskHandler>;
}
