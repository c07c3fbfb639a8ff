import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type Hook,
  HookCreate,
  type HookCreateInput,
  type ScriptTestJob,
  type ShellConfig,
} from '@stagehooks/core/domain';
import { DynamoHookRegistry } from '@stagehooks/core/dynamodb';
import {
  type HookTaskArgs,
  initialRun,
  newTestRunId,
  type RunHookArgs,
  type Stage,
  testInputOf,
} from '@stagehooks/core/engine';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import type { Logger } from '../src/log';

/** Dummy credentials: the SDK needs some even when every call is mocked or goes to DynamoDB Local. */
export const testCredentials = { accessKeyId: 'test', secretAccessKey: 'test' };
export const testRegion = 'us-east-1';
export const clientConfig = { region: testRegion, credentials: testCredentials };

export const stage: Stage = {
  eventId: '6f1c3b0e-7d7a-4b8e-9c3e-5f0a1d2e3f40',
  hookPoint: 'post_segment',
  jobId: 'job-42',
  projectId: 'p1',
  sceneTypeId: 'st-dance',
  segmentPath: 's3://bucket/job-42/seg-3.mp4',
  metadata: { fps: 24 },
  sceneContext: { mood: 'calm' },
};

export const executionId =
  'arn:aws:states:us-east-1:123456789012:execution:stagehooks-stage:job-42-post_segment';

/** Stores a shell hook in the registry; 10 s timeout unless the config says otherwise. */
export async function defineShellHook(
  doc: DynamoDBDocumentClient,
  tableName: string,
  config: z.input<typeof ShellConfig>,
  name = 'color_grade',
) {
  const registry = new DynamoHookRegistry(doc, { tableName });
  const input: HookCreateInput = {
    name,
    type: 'shell',
    hookPoint: 'post_segment',
    scopeType: 'project',
    scopeId: 'p1',
    failureMode: 'block',
    config: { timeoutSeconds: 10, ...config },
  };
  const { hook } = await registry.create(HookCreate.parse(input), 'test');
  return hook;
}

/**
 * What RunScriptInPool queues for `hook` at position `index`: the job and the run state so far (a plan
 * with the hook at that position and nothing after it).
 */
export function poolJobFor(hook: { id: string; name: string; revision: number }, index = 0): RunHookArgs {
  const job = jobFor(hook, index);
  const plan = { hooks: Array.from({ length: index + 1 }, () => job.hook), count: index + 1 };
  return { ...job, run: { ...initialRun(), plan, index, current: job.hook } };
}

/** What the state machine passes a script runner for `hook` in a task of its own (PrepareScriptTask). */
export function jobFor(hook: { id: string; name: string; revision: number }, index = 0): HookTaskArgs {
  return {
    stage,
    hook: {
      id: hook.id,
      name: hook.name,
      type: 'shell',
      revision: hook.revision,
      failureMode: 'block',
      isolation: 'pool',
      source: { scopeType: 'project', scopeId: 'p1' },
      mode: 'inline',
      when: null,
    },
    index,
    executionId,
  };
}

/** What the admin API queues for a test run of `hook` (a script hook) with its point's sample input. */
export function testJobFor(hook: Hook): ScriptTestJob {
  if (hook.type === 'webhook') throw new Error('test jobs are for script hooks');
  const { id, name, revision, type, failureMode } = hook;
  return {
    hook: { id, name, revision, type, failureMode },
    input: { ...testInputOf(hook, {}, newTestRunId()), test: true },
  };
}

/** An API Gateway (HTTP API, payload 2.0) request, with the JWT authorizer's claims when given. */
export function apiEvent(
  method: string,
  path: string,
  options: { claims?: Record<string, unknown>; body?: string } = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'test' },
      ...(options.claims && { authorizer: { jwt: { claims: options.claims, scopes: [] } } }),
    } as APIGatewayProxyEventV2['requestContext'],
    ...(options.body !== undefined && { body: options.body }),
    isBase64Encoded: false,
  };
}

/** A logger that keeps its entries for assertions. */
export function recordingLogger() {
  const entries: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      entries.push({ level, message, fields });
  const log: Logger = { info: at('info'), warn: at('warn'), error: at('error') };
  return { log, entries };
}

/** Polls `check` until it holds or `timeoutMs` passes. */
export async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Enough of a Lambda context for handlers called in tests. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${testRegion}:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
