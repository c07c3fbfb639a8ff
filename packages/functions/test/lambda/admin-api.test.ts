import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageCommand,
  type SendMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type Hook, ScriptTestMessage } from '@stagehooks/core/domain';
import { DynamoExecutionLogStore, DynamoHookRegistry } from '@stagehooks/core/dynamodb';
import { ScriptTests } from '@stagehooks/core/engine';
import { ProcessScriptRunner } from '@stagehooks/core/executors/script';
import { createTestTable } from '@test/dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { AdminApiHandler } from '../../src/api';
import { SqsScriptJobQueue } from '../../src/aws';
import { createAwsStageTasks } from '../../src/engine';
import { ScriptJobPool } from '../../src/script-runner';
import { apiEvent, clientConfig, defineShellHook, lambdaContext, recordingLogger } from '../fixtures';

// The admin API Lambda as AWS runs it, script test runs included: its module built from the
// environment against DynamoDB Local, and the pool runner (real bash) taking its jobs. Only SQS, which
// cannot run here, is a mock: one in-memory queue shared by the Lambda's client and the runner's.
const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/stagehooks-scripts';
const sqs = mockClient(SQSClient);
const sent: SendMessageCommandInput[] = [];
const waiting: Message[] = [];
sqs.on(SendMessageCommand).callsFake(async (input: SendMessageCommandInput) => {
  sent.push(input);
  const n = sent.length;
  waiting.push({ MessageId: `m${n}`, ReceiptHandle: `rh-${n}`, Body: input.MessageBody });
  return { MessageId: `m${n}` };
});
sqs.on(ReceiveMessageCommand).callsFake(async (input: ReceiveMessageCommandInput) => {
  const taken = waiting.splice(0, input.MaxNumberOfMessages ?? 1);
  if (taken.length === 0) await sleep(20);
  return { Messages: taken };
});
sqs.on(DeleteMessageCommand).resolves({});
sqs.on(ChangeMessageVisibilityCommand).resolves({});

let table: Awaited<ReturnType<typeof createTestTable>>;
let pool: ScriptJobPool;
let running: Promise<void>;
let handler: AdminApiHandler;
let hooks: { quick: Hook; slow: Hook };

const environment = (tableName: string) => ({
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
  STAGEHOOKS_TABLE: tableName,
  STAGEHOOKS_SCRIPT_QUEUE_URL: queueUrl,
  STAGEHOOKS_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:stagehooks-stage',
  // The bundle carries catalog/ beside the handler; here it is the repository's.
  STAGEHOOKS_CATALOG_DIR: fileURLToPath(new URL('../../../../catalog', import.meta.url)),
});

beforeAll(async () => {
  table = await createTestTable();
  for (const [name, value] of Object.entries(environment(table.tableName))) vi.stubEnv(name, value);
  ({ handler } = await import('../../src/lambda/admin-api'));
  hooks = {
    quick: await defineShellHook(table.doc, table.tableName, {
      script: 'read -r input; echo "tested $STAGEHOOKS_JOB_ID"; exit 4',
    }),
    slow: await defineShellHook(table.doc, table.tableName, { script: 'sleep 2; echo late' }, 'slow_grade'),
  };
  const unused = () => Promise.reject(new Error('no stage job in these tests'));
  pool = new ScriptJobPool({
    queue: new SqsScriptJobQueue(new SQSClient(clientConfig), queueUrl),
    jobs: {
      // No stage job comes through these tests: a stage job would run on these tasks.
      tasks: createAwsStageTasks({
        config: { tableName: table.tableName, logRetentionDays: 30 },
        dynamodb: table.client,
      }),
      reporter: { succeed: unused, fail: unused, heartbeat: unused },
      log: recordingLogger().log,
    },
    tests: new ScriptTests({
      registry: new DynamoHookRegistry(table.doc, { tableName: table.tableName }),
      logs: new DynamoExecutionLogStore(table.doc, { tableName: table.tableName }),
      scripts: new ProcessScriptRunner({ sandbox: 'none' }),
    }),
    concurrency: 2,
    stopGraceMs: 5_000,
  });
  running = pool.run();
});
afterAll(async () => {
  await pool?.stop();
  await running;
  vi.unstubAllEnvs();
  sqs.restore();
  await table?.drop();
});

const admin = { sub: 'ann', 'cognito:groups': '[admin]' };
const request = (method: string, path: string, body?: unknown) =>
  apiEvent(method, path, { claims: admin, ...(body !== undefined && { body: JSON.stringify(body) }) });

const answerOf = async (event: APIGatewayProxyEventV2, context = lambdaContext('stagehooks-admin-api')) => {
  const result = await handler(event, context);
  return { status: result.statusCode, headers: result.headers, body: JSON.parse(result.body ?? 'null') };
};

describe('admin API Lambda: a script hook’s test run', () => {
  it('goes through the pool runner’s queue and answers with the real result', async () => {
    // Act
    const answer = await answerOf(
      request('POST', `/hooks/${hooks.quick.id}/test`, { input: { jobId: 'job-aws' } }),
    );

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      status: 'failed',
      exitCode: 4,
      stdout: 'tested job-aws\n',
      errorMessage: 'exited with code 4',
      input: { test: true, jobId: 'job-aws' },
    });
    // A test job on the queue, not a stage's: no task token, the input marked as a test
    const message = ScriptTestMessage.parse(JSON.parse(sent.at(-1)?.MessageBody ?? 'null'));
    expect(sent.at(-1)?.QueueUrl).toBe(queueUrl);
    expect(message.testRun.input.invocationId).toBe(answer.body.logId);
    const logs = await answerOf(request('GET', `/hooks/${hooks.quick.id}/logs`));
    expect(logs.body.items).toEqual([
      expect.objectContaining({ id: answer.body.logId, test: true, executionId: null, status: 'failed' }),
    ]);
  });

  it('answers 202 with where to read the result when the run outlasts the Lambda’s time', async () => {
    // Prepare: 1.5 s left of the Lambda's time, for a script of 2 s
    const nearlyOut = { ...lambdaContext('stagehooks-admin-api'), getRemainingTimeInMillis: () => 1_500 };

    // Act
    const started = Date.now();
    const answer = await answerOf(request('POST', `/hooks/${hooks.slow.id}/test`), nearlyOut);
    const took = Date.now() - started;

    // Assess
    expect(answer.status).toBe(202);
    expect(took).toBeLessThan(1_500);
    expect(answer.body).toMatchObject({ status: 'running', logId: expect.stringMatching(/^test\./) });
    const location = `/hooks/${hooks.slow.id}/test-runs/${answer.body.logId}`;
    expect(answer.headers.location).toBe(location);
    expect((await answerOf(request('GET', location))).status).toBe(202);
    let later = await answerOf(request('GET', location));
    for (let i = 0; later.status === 202 && i < 100; i++) {
      await sleep(100);
      later = await answerOf(request('GET', location));
    }
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ status: 'passed', stdout: 'late\n', logId: answer.body.logId });
  });

  it('refuses to start without the pool runner’s queue', async () => {
    vi.resetModules();
    vi.stubEnv('STAGEHOOKS_SCRIPT_QUEUE_URL', '');
    await expect(import('../../src/lambda/admin-api')).rejects.toThrow(/STAGEHOOKS_SCRIPT_QUEUE_URL/);
    vi.stubEnv('STAGEHOOKS_SCRIPT_QUEUE_URL', queueUrl);
  });
});
