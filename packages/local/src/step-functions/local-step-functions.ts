import './polyfill';
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { AwsApiError } from '../aws-endpoint/api-error';
import { TaskError } from './errors';
import { type ExecutionRecord, type ExecutionStatus, ExecutionStore } from './execution-store';
import { type HistoryEvent, type RawEvent, type TaskCall, toHistory } from './history';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

export interface TaskContext {
  executionArn: string;
  /** The Task state's TimeoutSeconds: on AWS also what its Lambda function is given to run. */
  timeoutSeconds: number;
  /** Resolves with the output of SendTaskSuccess for this token, rejects on SendTaskFailure or stop. */
  waitForTaskToken(token: string): Promise<unknown>;
}

/**
 * A Task state's work. Its input is the state's own data (shared with the history), not a copy: a
 * handler must never change it (`freezeTaskInputs` checks that).
 */
export type LocalTaskHandler = (input: unknown, context: TaskContext) => Promise<unknown>;

export interface LocalStepFunctionsOptions {
  /** Where executions are journaled; in memory only without one. */
  dataDir?: string;
  /** Deep-freezes every Task input, so a handler that changes its input fails (for tests). */
  freezeTaskInputs?: boolean;
}

interface MachineEntry {
  name: string;
  arn: string;
  definition: StateMachineDefinition;
  machine: StateMachine;
  handlers: Record<string, LocalTaskHandler>;
  createdAt: number;
  /** Per Task state: its Resource and TimeoutSeconds, for the history. */
  tasks: Map<string, { resource: string; timeoutSeconds: number }>;
}

interface Running {
  abort: () => void;
  done: Promise<ExecutionRecord>;
  tokens: Set<string>;
}

interface PendingToken {
  executionArn: string;
  /** Created with the token, so a decision sent before the handler waits is not lost. */
  outcome: Promise<unknown>;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
  settled: boolean;
}

const stateMachineArn = (name: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
const executionArnOf = (machine: string, name: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${machine}:${name}`;
const NAME = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * The Step Functions API subset stagehooks needs, running definitions with aws-local-stepfunctions and
 * dispatching every Task state to a local handler by state name (never to real AWS).
 */
export class LocalStepFunctions {
  private readonly machines = new Map<string, MachineEntry>();
  private readonly running = new Map<string, Running>();
  private readonly tokens = new Map<string, PendingToken>();
  private readonly store: ExecutionStore;
  private closing = false;
  private readonly freezeTaskInputs: boolean;

  constructor(options: LocalStepFunctionsOptions = {}) {
    this.store = new ExecutionStore(options.dataDir);
    this.freezeTaskInputs = options.freezeTaskInputs ?? false;
  }

  createStateMachine(name: string, definition: object, handlers: Record<string, LocalTaskHandler>): string {
    const typed = definition as StateMachineDefinition;
    const tasks = new Map<string, { resource: string; timeoutSeconds: number }>();
    for (const [stateName, state] of Object.entries(typed.States)) {
      if (state.Type !== 'Task') continue;
      const task = state as { Resource: string; TimeoutSeconds?: number };
      if (!handlers[stateName]) throw new Error(`no local handler for Task state ${stateName}`);
      tasks.set(stateName, { resource: task.Resource, timeoutSeconds: task.TimeoutSeconds ?? 60 });
    }
    // Validated once here (structuredClone: the validator adds fields), then run without re-validating.
    new StateMachine(structuredClone(typed));
    const machine = new StateMachine(typed, { validationOptions: { noValidate: true } });
    const arn = stateMachineArn(name);
    this.machines.set(arn, { name, arn, definition: typed, machine, handlers, createdAt: Date.now(), tasks });
    return arn;
  }

  listStateMachines() {
    return [...this.machines.values()].map((m) => ({
      stateMachineArn: m.arn,
      name: m.name,
      type: 'STANDARD',
      creationDate: m.createdAt,
    }));
  }

  startExecution(request: { stateMachineArn: string; name?: string; input?: string }) {
    const machine = this.machines.get(request.stateMachineArn);
    if (!machine)
      throw new AwsApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${request.stateMachineArn}'`,
      );
    const name = request.name ?? randomUUID();
    if (!NAME.test(name)) throw new AwsApiError('InvalidName', `Invalid Name: '${name}'`);
    const inputText = request.input ?? '{}';
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch {
      throw new AwsApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON');
    }
    const executionArn = executionArnOf(machine.name, name);
    const existing = this.store.get(executionArn);
    if (existing) {
      // Like AWS: the same name and input is the same execution; another input is an error.
      if (existing.input === inputText) return { executionArn, startDate: existing.startDate };
      throw new AwsApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      status: 'RUNNING',
      startDate: Date.now(),
      input: inputText,
      raw: [],
      calls: [],
    };
    this.store.add(record);
    this.run(machine, record, input);
    return { executionArn, startDate: record.startDate };
  }

  describeExecution(executionArn: string) {
    const record = this.record(executionArn);
    return {
      executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: record.startDate,
      ...(record.stopDate !== undefined && { stopDate: record.stopDate }),
      input: record.input,
      inputDetails: { included: true },
      ...(record.output !== undefined && { output: record.output, outputDetails: { included: true } }),
      ...(record.error !== undefined && { error: record.error }),
      ...(record.cause !== undefined && { cause: record.cause }),
    };
  }

  listExecutions(request: {
    stateMachineArn: string;
    statusFilter?: ExecutionStatus;
    maxResults?: number;
    nextToken?: string;
  }) {
    if (!this.machines.has(request.stateMachineArn)) {
      throw new AwsApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${request.stateMachineArn}'`,
      );
    }
    const matching = this.store
      .all()
      .filter(
        (r) =>
          r.stateMachineArn === request.stateMachineArn &&
          (!request.statusFilter || r.status === request.statusFilter),
      )
      .sort((a, b) => b.startDate - a.startDate || (a.name < b.name ? -1 : 1));
    const { page, nextToken } = paginate(matching, request.maxResults, request.nextToken);
    return {
      executions: page.map((r) => ({
        executionArn: r.executionArn,
        stateMachineArn: r.stateMachineArn,
        name: r.name,
        status: r.status,
        startDate: r.startDate,
        ...(r.stopDate !== undefined && { stopDate: r.stopDate }),
      })),
      ...(nextToken && { nextToken }),
    };
  }

  getExecutionHistory(request: {
    executionArn: string;
    maxResults?: number;
    nextToken?: string;
    reverseOrder?: boolean;
  }) {
    const events = this.history(request.executionArn);
    const ordered = request.reverseOrder ? [...events].reverse() : events;
    const { page, nextToken } = paginate(ordered, request.maxResults, request.nextToken);
    return { events: page, ...(nextToken && { nextToken }) };
  }

  history(executionArn: string): HistoryEvent[] {
    const record = this.record(executionArn);
    return toHistory(record.raw, record.calls, {
      region: LOCAL_REGION,
      roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/stagehooks-local`,
    });
  }

  stopExecution(request: { executionArn: string; error?: string; cause?: string }) {
    const record = this.record(request.executionArn);
    const running = this.running.get(request.executionArn);
    if (record.status !== 'RUNNING' || !running) return { stopDate: record.stopDate ?? Date.now() };
    record.error = request.error;
    record.cause = request.cause;
    for (const token of running.tokens) {
      if (!this.tokens.get(token)?.settled)
        this.settleToken(token, new TaskError('States.Aborted', 'execution stopped'));
    }
    running.abort();
    return { stopDate: Date.now() };
  }

  sendTaskSuccess(request: { taskToken: string; output: string }) {
    let output: unknown;
    try {
      output = JSON.parse(request.output);
    } catch {
      throw new AwsApiError('InvalidOutput', 'Invalid Output: not JSON');
    }
    this.settleToken(request.taskToken, undefined, output);
    return {};
  }

  sendTaskFailure(request: { taskToken: string; error?: string; cause?: string }) {
    this.settleToken(
      request.taskToken,
      new TaskError(request.error ?? 'States.TaskFailed', request.cause ?? ''),
    );
    return {};
  }

  /** Resolves when the execution stops (at once if it has already). */
  async whenDone(executionArn: string): Promise<ExecutionRecord> {
    return this.running.get(executionArn)?.done ?? this.record(executionArn);
  }

  /**
   * Executions that were running when the stack last stopped: each is marked FAILED, and `onInterrupted`
   * (the engine) closes its work so nothing is silently lost.
   */
  async recoverInterrupted(
    onInterrupted: (record: ExecutionRecord) => Promise<void>,
  ): Promise<ExecutionRecord[]> {
    const interrupted = this.store
      .all()
      .filter((summary) => summary.status === 'RUNNING')
      .map((summary) => this.store.get(summary.executionArn))
      .filter((record): record is ExecutionRecord => record !== undefined)
      .filter((r) => r.status === 'RUNNING' && !this.running.has(r.executionArn));
    for (const record of interrupted) {
      await onInterrupted(record);
      const now = Date.now();
      record.status = 'FAILED';
      record.stopDate = now;
      record.error = 'Local.Interrupted';
      record.cause = 'the local stack stopped while this execution was running; it was ended on restart';
      record.raw.push({ type: 'ExecutionFailed', timestamp: now, Error: record.error, Cause: record.cause });
      this.store.changed(record);
    }
    return interrupted;
  }

  /**
   * Stops the service. Running executions stay RUNNING on disk, exactly as after a crash, so the next
   * start ends them through `recoverInterrupted` whichever way the stack went down.
   */
  async close() {
    this.closing = true;
    for (const running of this.running.values()) running.abort();
    // Every change is on disk already (the journal is written as events happen).
    this.store.close();
  }

  private run(machine: MachineEntry, record: ExecutionRecord, input: unknown) {
    const tokens = new Set<string>();
    const context: Omit<TaskContext, 'timeoutSeconds'> = {
      executionArn: record.executionArn,
      waitForTaskToken: (token) =>
        this.tokens.get(token)?.outcome ??
        Promise.reject(new TaskError('States.Runtime', `unknown task token ${token}`)),
    };
    const handlers = Object.fromEntries(
      Object.entries(machine.handlers).map(([state, handler]) => {
        const task = machine.tasks.get(state);
        const wrapped = async (taskInput: unknown) => {
          const call: TaskCall = {
            state,
            resource: task?.resource ?? 'unknown',
            parameters: taskInput,
            timeoutSeconds: task?.timeoutSeconds ?? 60,
            startedAt: Date.now(),
          };
          record.calls.push(call); // synchronous: keeps the order of the emulator's own events
          if (this.freezeTaskInputs) deepFreeze(taskInput);
          try {
            call.output = await handler(taskInput, { ...context, timeoutSeconds: call.timeoutSeconds });
            return call.output;
          } catch (error) {
            const err = error instanceof Error ? error : new Error(String(error));
            call.error = { error: err.name, cause: err.message };
            throw err;
          } finally {
            call.endedAt = Date.now();
            this.store.changed(record);
          }
        };
        return [state, wrapped];
      }),
    );
    // A Task state without a local handler would call real AWS: refuse instead.
    const guarded = new Proxy(handlers, {
      get: (target, key) =>
        target[key as string] ??
        (() => {
          throw new TaskError('Local.NoHandler', `no local handler for state ${String(key)}`);
        }),
    });
    const execution = machine.machine.run(input as never, {
      // The state data is not copied for each Task: no handler changes its input (see LocalTaskHandler).
      overrides: { taskResourceLocalHandlers: guarded as never, readOnlyTaskInput: true },
      context: {
        Execution: {
          Id: record.executionArn,
          Name: record.name,
          RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/stagehooks-local`,
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: {
          get Token() {
            return registerToken();
          },
        },
      },
    });
    const registerToken = () => {
      const token = Buffer.from(`${record.executionArn}|${randomUUID()}`).toString('base64url');
      tokens.add(token);
      const { promise, resolve, reject } = Promise.withResolvers<unknown>();
      promise.catch(() => undefined); // settled before anyone waits: not an unhandled rejection
      this.tokens.set(token, {
        executionArn: record.executionArn,
        outcome: promise,
        resolve,
        reject,
        settled: false,
      });
      return token;
    };
    const drained = (async () => {
      for await (const event of execution.eventLogs) {
        // What happens while the service shuts down (the abort) is not part of the execution's story.
        if (this.closing) continue;
        const raw = event as RawEvent;
        // An exited state's input is its entered event's input: kept once (GetExecutionHistory shows the output).
        if (raw.type === 'StateExited' && raw.state) {
          const { input: _input, ...state } = raw.state;
          record.raw.push({ ...raw, state });
        } else {
          record.raw.push(raw);
        }
        this.store.changed(record);
      }
    })();
    const done = execution.result
      .then(
        (output) => {
          if (this.closing) return;
          record.status = 'SUCCEEDED';
          record.output = JSON.stringify(output ?? null);
        },
        (error: unknown) => {
          if (this.closing) return;
          if (error instanceof ExecutionAbortedError) record.status = 'ABORTED';
          else if (error instanceof ExecutionTimeoutError) record.status = 'TIMED_OUT';
          else record.status = 'FAILED';
        },
      )
      .then(async () => {
        await drained;
        if (this.closing) {
          this.running.delete(record.executionArn);
          return record;
        }
        const failed = [...record.raw].reverse().find((e) => e.type === 'ExecutionFailed');
        if (failed && record.status === 'FAILED') {
          record.error = failed.Error;
          record.cause = typeof failed.Cause === 'string' ? failed.Cause : JSON.stringify(failed.Cause);
        }
        record.stopDate = Date.now();
        for (const token of tokens) this.tokens.delete(token);
        this.running.delete(record.executionArn);
        this.store.changed(record);
        return record;
      });
    this.running.set(record.executionArn, { abort: execution.abort, done, tokens });
  }

  private settleToken(token: string, error?: Error, output?: unknown) {
    const pending = this.tokens.get(token);
    if (!pending || pending.settled) {
      throw new AwsApiError('TaskDoesNotExist', 'Task Does Not Exist: the token is unknown or already used');
    }
    pending.settled = true;
    if (error) pending.reject(error);
    else pending.resolve(output);
  }

  private record(executionArn: string): ExecutionRecord {
    const record = this.store.get(executionArn);
    if (!record)
      throw new AwsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return record;
  }
}

/** Freezes `value` and everything in it (an object frozen already may still hold unfrozen ones). */
function deepFreeze(value: unknown, seen = new WeakSet<object>()) {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child, seen);
}

function paginate<T>(items: T[], maxResults = 100, nextToken?: string): { page: T[]; nextToken?: string } {
  const size = maxResults > 0 ? Math.min(maxResults, 1000) : 100;
  const start = nextToken ? Number(Buffer.from(nextToken, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw new AwsApiError('InvalidToken', 'Invalid Token');
  const page = items.slice(start, start + size);
  const next =
    start + size < items.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
  return next ? { page, nextToken: next } : { page };
}
