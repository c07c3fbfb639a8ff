/**
 * Execution history in the shape of Step Functions' GetExecutionHistory. The emulator logs state and
 * execution events but no task events, so each Task handler call is recorded apart and merged in: the
 * machine is sequential, so the n-th call belongs to the n-th Task entry (or retry).
 */

/** One event as the emulator reports it (a subset of its EventLog union that we read). */
export interface RawEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  input?: unknown;
  output?: unknown;
  Error?: string;
  Cause?: unknown;
}

export interface TaskCall {
  state: string;
  resource: string;
  parameters: unknown;
  timeoutSeconds: number;
  startedAt: number;
  endedAt?: number;
  output?: unknown;
  error?: { error: string; cause: string };
}

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

const json = (value: unknown) => JSON.stringify(value ?? null);
const causeText = (cause: unknown) => (typeof cause === 'string' ? cause : json(cause));

/** Service integrations report Task* events; a plain Lambda ARN reports LambdaFunction* events. */
function taskEvents(call: TaskCall, region: string) {
  const integration = /^arn:aws:states:::([^:]+):(.+)$/.exec(call.resource);
  if (!integration) {
    return {
      scheduled: {
        type: 'LambdaFunctionScheduled',
        lambdaFunctionScheduledEventDetails: {
          resource: call.resource,
          input: json(call.parameters),
          timeoutInSeconds: call.timeoutSeconds,
        },
      },
      started: [{ type: 'LambdaFunctionStarted' }],
      succeeded: (output: unknown) => ({
        type: 'LambdaFunctionSucceeded',
        lambdaFunctionSucceededEventDetails: { output: json(output) },
      }),
      failed: (error: string, cause: string) => ({
        type: 'LambdaFunctionFailed',
        lambdaFunctionFailedEventDetails: { error, cause },
      }),
      timedOut: {
        type: 'LambdaFunctionTimedOut',
        lambdaFunctionTimedOutEventDetails: { error: 'States.Timeout' },
      },
    };
  }
  const [, resourceType, resource] = integration as unknown as [string, string, string];
  const base = { resourceType, resource };
  const waits = resource.endsWith('.waitForTaskToken') || resource.endsWith('.sync');
  return {
    scheduled: {
      type: 'TaskScheduled',
      taskScheduledEventDetails: {
        ...base,
        region,
        parameters: json(call.parameters),
        timeoutInSeconds: call.timeoutSeconds,
      },
    },
    started: [
      { type: 'TaskStarted', taskStartedEventDetails: base },
      ...(waits ? [{ type: 'TaskSubmitted', taskSubmittedEventDetails: { ...base, output: '{}' } }] : []),
    ],
    succeeded: (output: unknown) => ({
      type: 'TaskSucceeded',
      taskSucceededEventDetails: { ...base, output: json(output) },
    }),
    failed: (error: string, cause: string) => ({
      type: 'TaskFailed',
      taskFailedEventDetails: { ...base, error, cause },
    }),
    timedOut: { type: 'TaskTimedOut', taskTimedOutEventDetails: { ...base, error: 'States.Timeout' } },
  };
}

export function toHistory(
  raw: RawEvent[],
  calls: TaskCall[],
  context: { region: string; roleArn: string },
): HistoryEvent[] {
  const history: HistoryEvent[] = [];
  const push = (timestamp: number, event: { type: string; [k: string]: unknown }) => {
    const id = history.length + 1;
    history.push({ id, previousEventId: id - 1, timestamp, ...event });
  };
  const pending = [...calls];
  const open = new Map<string, TaskCall>();

  const closeTask = (name: string, timestamp: number, failure?: { error: string; cause: string }) => {
    const call = open.get(name);
    if (!call) return;
    open.delete(name);
    const events = taskEvents(call, context.region);
    if (failure?.error === 'States.Timeout') push(timestamp, events.timedOut);
    else if (failure) push(call.endedAt ?? timestamp, events.failed(failure.error, failure.cause));
    else push(call.endedAt ?? timestamp, events.succeeded(call.output));
  };

  for (const event of raw) {
    const name = event.state?.name ?? '';
    const stateType = event.state?.type ?? '';
    switch (event.type) {
      case 'ExecutionStarted':
        push(event.timestamp, {
          type: 'ExecutionStarted',
          executionStartedEventDetails: {
            input: json(event.input),
            inputDetails: { truncated: false },
            roleArn: context.roleArn,
          },
        });
        break;
      case 'StateEntered':
      case 'StateRetried':
        if (event.type === 'StateEntered') {
          push(event.timestamp, {
            type: `${stateType}StateEntered`,
            stateEnteredEventDetails: { name, input: json(event.state?.input) },
          });
        }
        if (stateType === 'Task') {
          const call = pending.shift();
          if (call) {
            open.set(name, call);
            const events = taskEvents(call, context.region);
            push(call.startedAt, events.scheduled);
            for (const started of events.started) push(call.startedAt, started);
          }
        }
        break;
      case 'StateFailed':
        if (stateType === 'Task')
          closeTask(name, event.timestamp, {
            error: event.Error ?? 'States.TaskFailed',
            cause: causeText(event.Cause),
          });
        break;
      case 'StateExited':
        if (stateType === 'Task') closeTask(name, event.timestamp);
        push(event.timestamp, {
          type: `${stateType}StateExited`,
          stateExitedEventDetails: { name, output: json(event.state?.output) },
        });
        break;
      case 'ExecutionSucceeded':
        push(event.timestamp, {
          type: 'ExecutionSucceeded',
          executionSucceededEventDetails: { output: json(event.output) },
        });
        break;
      case 'ExecutionFailed':
        push(event.timestamp, {
          type: 'ExecutionFailed',
          executionFailedEventDetails: {
            error: event.Error ?? 'States.Runtime',
            cause: causeText(event.Cause),
          },
        });
        break;
      case 'ExecutionAborted':
        push(event.timestamp, { type: 'ExecutionAborted', executionAbortedEventDetails: {} });
        break;
      case 'ExecutionTimeout':
        push(event.timestamp, { type: 'ExecutionTimedOut', executionTimedOutEventDetails: {} });
        break;
      default:
        // StateCaught has no counterpart in AWS histories; Map/Parallel events do not occur in this machine.
        break;
    }
  }
  return history;
}
