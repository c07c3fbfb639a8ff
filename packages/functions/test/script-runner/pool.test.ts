import { setTimeout as sleep } from 'node:timers/promises';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Hook } from '@stagehooks/core/domain';
import { DynamoExecutionLogStore, DynamoHookRegistry } from '@stagehooks/core/dynamodb';
import { RunState, ScriptTests } from '@stagehooks/core/engine';
import { ProcessScriptRunner } from '@stagehooks/core/executors/script';
import { createTestTable } from '@test/dynamodb';
import { withFailingWrites } from '@test/logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqsScriptJobQueue, StepFunctionsTaskReporter } from '../../src/aws';
import { createAwsStageTasks } from '../../src/engine';
import { ScriptJobPool, type ScriptJobPoolOptions } from '../../src/script-runner';
import {
  clientConfig,
  defineShellHook,
  eventually,
  poolJobFor,
  recordingLogger,
  testJobFor,
} from '../fixtures';

const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/stagehooks-scripts';
const sfnClient = new SFNClient(clientConfig);
const sfn = mockClient(sfnClient);
const sqsClient = new SQSClient(clientConfig);
const sqs = mockClient(sqsClient);
afterEach(() => {
  sfn.reset();
  sqs.reset();
});

let table: Awaited<ReturnType<typeof createTestTable>>;
let tasks: ReturnType<typeof createAwsStageTasks>;
let tests: ScriptTests;
let hooks: { quick: Hook; halfSecond: Hook; slow: Hook };

beforeAll(async () => {
  table = await createTestTable();
  tasks = createAwsStageTasks({
    config: { tableName: table.tableName, logRetentionDays: 30 },
    dynamodb: table.client,
    scripts: new ProcessScriptRunner({ sandbox: 'none' }),
  });
  tests = new ScriptTests({
    registry: new DynamoHookRegistry(table.doc, { tableName: table.tableName }),
    logs: new DynamoExecutionLogStore(table.doc, { tableName: table.tableName }),
    scripts: new ProcessScriptRunner({ sandbox: 'none' }),
  });
  hooks = {
    quick: await defineShellHook(
      table.doc,
      table.tableName,
      { script: 'read -r input; echo "ran $STAGEHOOKS_JOB_ID"' },
      'quick',
    ),
    halfSecond: await defineShellHook(
      table.doc,
      table.tableName,
      { script: 'sleep 0.5; echo done' },
      'half_second',
    ),
    slow: await defineShellHook(table.doc, table.tableName, { script: 'sleep 5', timeoutSeconds: 2 }, 'slow'),
  };
});
afterAll(() => table?.drop());

/** The queue RunScriptInPool fills, served by the mocked SQS client; an empty poll waits a little. */
function queueOf(jobs: Array<{ token: string; hook: Hook } | { raw: string }>, { failingPolls = 0 } = {}) {
  let failuresLeft = failingPolls;
  const waiting: Message[] = jobs.map((job, i) => ({
    MessageId: `m${i}`,
    ReceiptHandle: `rh-${i}`,
    Body: 'raw' in job ? job.raw : JSON.stringify({ taskToken: job.token, job: poolJobFor(job.hook, i) }),
  }));
  sqs.on(ReceiveMessageCommand).callsFake(async (input: ReceiveMessageCommandInput) => {
    if (failuresLeft-- > 0) throw Object.assign(new Error('throttled'), { name: 'RequestThrottled' });
    const taken = waiting.splice(0, input.MaxNumberOfMessages ?? 1);
    if (taken.length === 0) await sleep(20);
    return { Messages: taken };
  });
  sqs.on(DeleteMessageCommand).resolves({});
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  return waiting;
}

function poolWith(options: Partial<ScriptJobPoolOptions> = {}) {
  const { log, entries } = recordingLogger();
  const pool = new ScriptJobPool({
    queue: new SqsScriptJobQueue(sqsClient, queueUrl),
    jobs: {
      tasks,
      reporter: new StepFunctionsTaskReporter(sfnClient),
      log,
    },
    tests,
    concurrency: 2,
    stopGraceMs: 10_000,
    pollErrorBackoffMs: 10,
    ...options,
  });
  return { pool, entries };
}

const deleted = () => sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle);
/** Each SendTaskSuccess: the run state the runner recorded, and the log of the run it recorded. */
const successes = () =>
  sfn.commandCalls(SendTaskSuccessCommand).map((c) => {
    const run = RunState.parse(JSON.parse(c.args[0].input.output ?? 'null'));
    return { token: c.args[0].input.taskToken, run, recorded: run.results.at(-1) };
  });
const logOf = async (logId: string | null | undefined) =>
  new DynamoExecutionLogStore(table.doc, { tableName: table.tableName }).get(logId ?? '');
const failures = () => sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input);

function answerSfn() {
  sfn.on(SendTaskHeartbeatCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
}

describe('script runner, pool mode', () => {
  it('runs queued jobs with real bash, at most `concurrency` at once, reports each and deletes its message', async () => {
    // Prepare
    answerSfn();
    queueOf([
      { token: 'token-a', hook: hooks.quick },
      { token: 'token-b', hook: hooks.quick },
      { token: 'token-c', hook: hooks.quick },
    ]);
    const { pool } = poolWith();
    let mostInFlight = 0;
    const sampler = setInterval(() => {
      mostInFlight = Math.max(mostInFlight, pool.inFlight);
    }, 1);

    // Act
    const running = pool.run();
    await eventually(() => deleted().length === 3);
    await pool.stop();
    await running;
    clearInterval(sampler);

    // Assess
    const reported = successes();
    expect(reported.map((r) => r.token).sort()).toEqual(['token-a', 'token-b', 'token-c']);
    for (const { run, recorded } of reported) {
      // Recorded by the runner: the run moved on and its log is written (no hook left in the plan)
      expect(run).toMatchObject({ current: null, pending: [] });
      expect(recorded).toMatchObject({ status: 'passed', outcome: 'continued' });
      expect(await logOf(recorded?.logId)).toMatchObject({
        status: 'passed',
        exitCode: 0,
        stdout: 'ran job-42\n',
      });
    }
    expect(deleted().sort()).toEqual(['rh-0', 'rh-1', 'rh-2']);
    expect(mostInFlight).toBeLessThanOrEqual(2);
    const asked = sqs
      .commandCalls(ReceiveMessageCommand)
      .map((c) => c.args[0].input.MaxNumberOfMessages ?? 0);
    expect(Math.max(...asked)).toBeLessThanOrEqual(2);
  });

  it('keeps a running job hidden by extending its message visibility', async () => {
    // Prepare
    answerSfn();
    queueOf([{ token: 'token-long', hook: hooks.halfSecond }]);
    const { pool } = poolWith({ visibilitySeconds: 30, extendEveryMs: 100 });

    // Act
    const running = pool.run();
    await eventually(() => deleted().length === 1);
    await pool.stop();
    await running;

    // Assess
    const extensions = sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);
    expect(extensions.length).toBeGreaterThanOrEqual(2);
    expect(extensions[0]).toEqual({ QueueUrl: queueUrl, ReceiptHandle: 'rh-0', VisibilityTimeout: 30 });
  });

  it('on stop (SIGTERM), takes no new job and lets the running one finish and report', async () => {
    // Prepare
    answerSfn();
    const waiting = queueOf([{ token: 'token-running', hook: hooks.halfSecond }]);
    const { pool } = poolWith();
    const running = pool.run();
    await eventually(() => sfn.commandCalls(SendTaskHeartbeatCommand).length === 1);
    waiting.push({ MessageId: 'late', ReceiptHandle: 'rh-late', Body: '{}' });

    // Act
    await pool.stop();
    await running;

    // Assess
    const [reported] = successes();
    expect(reported?.token).toBe('token-running');
    expect(await logOf(reported?.recorded?.logId)).toMatchObject({ status: 'passed', stdout: 'done\n' });
    expect(deleted()).toEqual(['rh-0']);
    expect(waiting.map((m) => m.ReceiptHandle)).toEqual(['rh-late']);
    expect(pool.inFlight).toBe(0);
  });

  it('reports a job still running after the grace period as ScriptRunner.Interrupted', async () => {
    // Prepare
    answerSfn();
    queueOf([{ token: 'token-slow', hook: hooks.slow }]);
    const { pool } = poolWith({ stopGraceMs: 100 });
    const running = pool.run();
    await eventually(() => sfn.commandCalls(SendTaskHeartbeatCommand).length === 1);

    // Act
    await pool.stop();
    await running;

    // Assess
    expect(failures()).toEqual([
      expect.objectContaining({ taskToken: 'token-slow', error: 'ScriptRunner.Interrupted' }),
    ]);
    expect(successes()).toEqual([]);
    expect(deleted()).toEqual(['rh-0']);
  });

  it('drops a job whose task no longer waits, without running it', async () => {
    // Prepare
    sfn.on(SendTaskHeartbeatCommand).rejects(Object.assign(new Error('expired'), { name: 'TaskTimedOut' }));
    sfn.on(SendTaskSuccessCommand).resolves({});
    queueOf([{ token: 'token-expired', hook: hooks.quick }]);
    const { pool, entries } = poolWith();

    // Act
    const running = pool.run();
    await eventually(() => deleted().length === 1);
    await pool.stop();
    await running;

    // Assess
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect(entries.some((e) => e.message.includes('no longer waits'))).toBe(true);
  });

  it('deletes a message that is not { taskToken, job }, and reports a bad job to its token', async () => {
    // Prepare
    answerSfn();
    queueOf([
      { raw: 'not json' },
      { raw: JSON.stringify({ taskToken: 'token-bad-job', job: { index: 0 } }) },
    ]);
    const { pool } = poolWith();

    // Act
    const running = pool.run();
    await eventually(() => deleted().length === 2);
    await pool.stop();
    await running;

    // Assess
    expect(failures()).toEqual([
      expect.objectContaining({ taskToken: 'token-bad-job', error: 'ScriptRunner.InvalidJob' }),
    ]);
  });

  it('keeps the message when the report cannot be delivered, so the job is taken again', async () => {
    // Prepare
    sfn.on(SendTaskHeartbeatCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
    queueOf([{ token: 'token-unreported', hook: hooks.quick }]);
    const { pool, entries } = poolWith();

    // Act
    const running = pool.run();
    await eventually(() => sfn.commandCalls(SendTaskSuccessCommand).length === 1);
    await pool.stop();
    await running;

    // Assess
    expect(deleted()).toEqual([]);
    expect(entries.some((e) => e.level === 'error' && e.message.includes('returns to the queue'))).toBe(true);
  });

  it('keeps polling after a failed poll', async () => {
    // Prepare
    answerSfn();
    queueOf([{ token: 'token-after-error', hook: hooks.quick }], { failingPolls: 1 });
    const { pool, entries } = poolWith();

    // Act
    const running = pool.run();
    await eventually(() => deleted().length === 1);
    await pool.stop();
    await running;

    // Assess
    expect(entries.some((e) => e.message === 'could not poll the script queue')).toBe(true);
    expect(successes().map((s) => s.token)).toEqual(['token-after-error']);
  });
});

describe('script runner, pool mode: the admin API’s test runs', () => {
  const testRunMessage = (hook: Hook) => {
    const job = testJobFor(hook);
    return { job, message: { raw: JSON.stringify({ testRun: job }) } };
  };

  it('runs a test run from the queue and logs it with test: true, telling no task', async () => {
    // Prepare
    const { job, message } = testRunMessage(hooks.quick);
    queueOf([message]);
    const { pool, entries } = poolWith();

    // Act
    const running = pool.run();
    await eventually(() => deleted().length === 1);
    await pool.stop();
    await running;

    // Assess
    expect(await logOf(job.input.invocationId)).toMatchObject({
      hookId: hooks.quick.id,
      test: true,
      executionId: null,
      status: 'passed',
      stdout: 'ran job-sample-0042\n',
    });
    expect(sfn.calls()).toEqual([]);
    expect(entries).toContainEqual(
      expect.objectContaining({
        message: 'script test run finished',
        fields: expect.objectContaining({ test: true, logId: job.input.invocationId, status: 'passed' }),
      }),
    );
  });

  it('logs a test run still running after the grace period as error, and deletes its message', async () => {
    // Prepare
    const { job, message } = testRunMessage(hooks.slow);
    queueOf([message]);
    const { pool, entries } = poolWith({ stopGraceMs: 100 });
    const running = pool.run();
    await eventually(() => entries.some((e) => e.message === 'script test run started'));

    // Act
    await pool.stop();
    await running;

    // Assess
    expect(await logOf(job.input.invocationId)).toMatchObject({
      test: true,
      status: 'error',
      errorMessage: 'the script runner was stopped (SIGTERM) before the script finished',
    });
    expect(deleted()).toEqual(['rh-0']);
    expect(sfn.calls()).toEqual([]);
  });

  it('keeps a test run’s message when its log cannot be written, so it is taken again', async () => {
    // Prepare
    const logs = new DynamoExecutionLogStore(table.doc, { tableName: table.tableName });
    const unwritable = withFailingWrites(logs, () => {
      throw new Error('log store down');
    });
    const registry = new DynamoHookRegistry(table.doc, { tableName: table.tableName });
    const scripts = new ProcessScriptRunner({ sandbox: 'none' });
    const { message } = testRunMessage(hooks.quick);
    queueOf([message]);
    const { pool, entries } = poolWith({ tests: new ScriptTests({ registry, logs: unwritable, scripts }) });

    // Act
    const running = pool.run();
    await eventually(() => entries.some((e) => e.message.includes('its message returns to the queue')));
    await pool.stop();
    await running;

    // Assess
    expect(deleted()).toEqual([]);
    expect(entries.map((e) => e.message)).toContain('script test run failed in the runner');
  });
});
