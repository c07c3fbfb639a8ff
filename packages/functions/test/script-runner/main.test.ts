import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Hook } from '@stagehooks/core/domain';
import { DynamoExecutionLogStore } from '@stagehooks/core/dynamodb';
import { Attempt, RunState } from '@stagehooks/core/engine';
import { createTestTable } from '@test/dynamodb';
import { HttpReceiver, type ReceivedRequest, type ScriptedResponse } from '@test/http-receiver';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { defineShellHook, eventually, jobFor, poolJobFor, testCredentials, testJobFor } from '../fixtures';

const main = fileURLToPath(new URL('../../src/script-runner/main.ts', import.meta.url));

let table: Awaited<ReturnType<typeof createTestTable>>;
/** Step Functions and SQS for the container: a real HTTP server speaking their JSON protocols. */
let aws: HttpReceiver;
let hook: Hook;
const children: ChildProcess[] = [];

beforeAll(async () => {
  table = await createTestTable();
  aws = await HttpReceiver.start();
  hook = await defineShellHook(table.doc, table.tableName, {
    script: 'sleep 0.3; echo "done $STAGEHOOKS_JOB_ID"',
  });
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  aws.reset();
});
afterAll(async () => {
  await aws?.close();
  await table?.drop();
});

const json = (body: unknown): ScriptedResponse => ({
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify(body),
});
const target = (request: ReceivedRequest) => String(request.headers['x-amz-target'] ?? '');
const calls = (operation: string) => aws.requests.filter((r) => target(r).endsWith(`.${operation}`));
const bodyOf = (request: ReceivedRequest | undefined): Record<string, unknown> =>
  JSON.parse(request?.body ?? '{}');

/** SQS with one message (`m1`, receipt handle `rh-1`) for the first poll, none after; other calls `{}`. */
function serveOneMessage(body: string): void {
  let served = false;
  aws.replyAlways((request) => {
    if (!target(request).endsWith('.ReceiveMessage')) return json({});
    if (served) return { ...json({}), delayMs: 200 };
    served = true;
    const md5 = createHash('md5').update(body).digest('hex');
    return json({ Messages: [{ MessageId: 'm1', ReceiptHandle: 'rh-1', Body: body, MD5OfBody: md5 }] });
  });
}

/** The container as ECS starts it: the entry point with only its environment. */
function startRunner(env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
      AWS_ENDPOINT_URL_SFN: aws.url(''),
      AWS_ENDPOINT_URL_SQS: aws.url(''),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      STAGEHOOKS_TABLE: table.tableName,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

describe('script-runner container entry point', () => {
  it('task mode: runs the job from STAGEHOOKS_JOB, sends SendTaskSuccess with the Attempt, exits 0', async () => {
    // Prepare
    aws.replyAlways(json({}));

    // Act
    const { exited } = startRunner({
      STAGEHOOKS_TASK_TOKEN: 'token-from-ecs',
      STAGEHOOKS_JOB: JSON.stringify(jobFor(hook)),
    });
    const code = await exited;

    // Assess
    expect(code).toBe(0);
    const [success] = calls('SendTaskSuccess');
    expect(bodyOf(success).taskToken).toBe('token-from-ecs');
    const attempt = Attempt.parse(JSON.parse(String(bodyOf(success).output)));
    expect(attempt).toMatchObject({ result: { status: 'passed', stdout: 'done job-42\n' } });
  });

  it('task mode: runs the script as uid 65534, which cannot read the runner’s environment (the task token)', async () => {
    // Prepare: bash's parent is the runner itself (prlimit execs the interpreter).
    aws.replyAlways(json({}));
    const probe = await defineShellHook(
      table.doc,
      table.tableName,
      {
        script: [
          'id -u',
          `if tr '\\0' '\\n' < "/proc/$PPID/environ"; then echo environ-readable; else echo environ-denied; fi`,
        ].join('\n'),
      },
      'probe_runner',
    );

    // Act
    const { exited } = startRunner({
      STAGEHOOKS_TASK_TOKEN: 'token-in-the-runner-env',
      STAGEHOOKS_JOB: JSON.stringify(jobFor(probe)),
    });
    const code = await exited;

    // Assess
    expect(code).toBe(0);
    const [success] = calls('SendTaskSuccess');
    const attempt = Attempt.parse(JSON.parse(String(bodyOf(success).output)));
    expect(attempt).toMatchObject({ result: { status: 'passed', stdout: '65534\nenviron-denied\n' } });
    expect(JSON.stringify(attempt)).not.toContain('token-in-the-runner-env');
  });

  it('task mode: a bad environment fails the task at once with ScriptRunner.Misconfigured', async () => {
    // Prepare
    aws.replyAlways(json({}));

    // Act
    const { exited } = startRunner({
      STAGEHOOKS_TABLE: '',
      STAGEHOOKS_TASK_TOKEN: 'token-misconfigured',
      STAGEHOOKS_JOB: '{}',
    });
    const code = await exited;

    // Assess
    expect(code).toBe(1);
    expect(bodyOf(calls('SendTaskFailure')[0])).toMatchObject({
      taskToken: 'token-misconfigured',
      error: 'ScriptRunner.Misconfigured',
      cause: 'invalid environment: STAGEHOOKS_TABLE: is required',
    });
  });

  it('pool mode: on SIGTERM, finishes the running job, reports it, deletes its message and exits 0', async () => {
    // Prepare
    const body = JSON.stringify({ taskToken: 'token-pool', job: poolJobFor(hook) });
    serveOneMessage(body);
    const { child, exited } = startRunner({
      STAGEHOOKS_SCRIPT_QUEUE_URL: `${aws.url('')}/123456789012/stagehooks-scripts`,
    });
    await eventually(() => calls('SendTaskHeartbeat').length === 1, 15_000);

    // Act
    child.kill('SIGTERM');
    const code = await exited;

    // Assess
    expect(code).toBe(0);
    const [success] = calls('SendTaskSuccess');
    expect(bodyOf(success).taskToken).toBe('token-pool');
    // The runner recorded the run: the run state moved on, the log is in the table
    const run = RunState.parse(JSON.parse(String(bodyOf(success).output)));
    expect(run).toMatchObject({ index: 1, current: null, pending: [], results: [{ status: 'passed' }] });
    const logs = new DynamoExecutionLogStore(table.doc, { tableName: table.tableName });
    expect(await logs.get(run.results[0]?.logId ?? '')).toMatchObject({
      status: 'passed',
      stdout: 'done job-42\n',
    });
    expect(calls('DeleteMessage').map((r) => bodyOf(r).ReceiptHandle)).toEqual(['rh-1']);
    expect(aws.requests.indexOf(calls('DeleteMessage')[0] as ReceivedRequest)).toBeGreaterThan(
      aws.requests.indexOf(success as ReceivedRequest),
    );
  });

  it('pool mode: runs the admin API’s test run from the queue, logs it with test: true, tells no task', async () => {
    // Prepare
    const job = testJobFor(hook);
    const body = JSON.stringify({ testRun: job });
    serveOneMessage(body);
    const { child, exited } = startRunner({
      STAGEHOOKS_SCRIPT_QUEUE_URL: `${aws.url('')}/123456789012/stagehooks-scripts`,
    });

    // Act
    await eventually(() => calls('DeleteMessage').length === 1, 15_000);
    child.kill('SIGTERM');
    const code = await exited;

    // Assess
    expect(code).toBe(0);
    const logs = new DynamoExecutionLogStore(table.doc, { tableName: table.tableName });
    expect(await logs.get(job.input.invocationId)).toMatchObject({
      hookId: hook.id,
      test: true,
      executionId: null,
      status: 'passed',
      stdout: 'done job-sample-0042\n',
    });
    for (const report of ['SendTaskHeartbeat', 'SendTaskSuccess', 'SendTaskFailure'])
      expect(calls(report), report).toEqual([]);
  });
});
