import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskDoesNotExist,
} from '@aws-sdk/client-sfn';
import { fromIni } from '@aws-sdk/credential-providers';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { EventBridgeEvent } from '@stagehooks/core/domain';
import {
  type AwsKeyPair,
  createAwsEndpoint,
  type LocalAwsCredentials,
  listen,
  loadAwsCredentials,
} from '@stagehooks/local/aws-endpoint';
import { LocalEventBus } from '@stagehooks/local/event-bus';
import { LocalStepFunctions } from '@stagehooks/local/step-functions';
import { freePort } from '@test/free-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** A small machine with a task, a retry, a catch and a token wait: every path the API reports on. */
const definition = {
  StartAt: 'Work',
  States: {
    Work: {
      Type: 'Task',
      Resource: 'arn:aws:lambda:us-east-1:000000000000:function:work',
      TimeoutSeconds: 5,
      Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 0, MaxAttempts: 1 }],
      Next: 'Wait?',
    },
    'Wait?': {
      Type: 'Choice',
      Choices: [
        {
          And: [
            { Variable: '$.wait', IsPresent: true },
            { Variable: '$.wait', BooleanEquals: true },
          ],
          Next: 'Hold',
        },
      ],
      Default: 'Done',
    },
    Hold: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSeconds: 30,
      Parameters: {
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:hold',
        Payload: { 'taskToken.$': '$$.Task.Token' },
      },
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
  },
};

let sfn: LocalStepFunctions;
let bus: LocalEventBus;
const deliveryErrors: Error[] = [];
let server: Server;
let client: SFNClient;
let events: EventBridgeClient;
let arn: string;
let home: string;
let endpoint: string;
let local: LocalAwsCredentials;
const tokens: string[] = [];
let flaky = 0;

beforeAll(async () => {
  sfn = new LocalStepFunctions();
  arn = sfn.createStateMachine('test-machine', definition, {
    Work: async (input) => {
      if ((input as { flaky?: boolean }).flaky && flaky++ === 0)
        throw Object.assign(new Error('first try fails'), { name: 'Flaky' });
      return { ...(input as object), worked: true };
    },
    Hold: async (input, context) => {
      const token = (input as { Payload: { taskToken: string } }).Payload.taskToken;
      tokens.push(token);
      return context.waitForTaskToken(token);
    },
  });
  bus = new LocalEventBus({ onDeliveryError: (error) => void deliveryErrors.push(error) });
  home = await mkdtemp(join(tmpdir(), 'stagehooks-endpoint-'));
  local = await loadAwsCredentials(home, undefined);
  server = createAwsEndpoint({ sfn, bus, credentials: local.keys });
  const port = await freePort();
  await listen(server, port);
  endpoint = `http://127.0.0.1:${port}`;
  // The clients read the generated file as any AWS SDK client reads a shared-credentials file.
  const credentials = fromIni({ profile: 'stagehooks', filepath: join(home, 'aws-credentials') });
  const config = { endpoint, region: 'us-east-1', credentials };
  client = new SFNClient(config);
  events = new EventBridgeClient(config);
});
afterAll(async () => {
  client.destroy();
  events.destroy();
  void sfn.close();
  server.close();
  await rm(home, { recursive: true, force: true });
});

const start = (name: string, input: object) =>
  client.send(new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }));

describe('Step Functions through the real SDK client', () => {
  it('lists the state machine and runs an execution to the end', async () => {
    const { stateMachines } = await client.send(new ListStateMachinesCommand({}));
    expect(stateMachines?.map((m) => m.name)).toEqual(['test-machine']);

    const { executionArn } = await start('plain', { n: 1 });
    await sfn.whenDone(executionArn as string);
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: 'SUCCEEDED', name: 'plain' });
    expect(JSON.parse(described.output ?? '{}')).toEqual({ n: 1, worked: true });
    expect(described.startDate).toBeInstanceOf(Date);
  });

  it('tells a retried task apart in the history, in AWS event types', async () => {
    const { executionArn } = await start('retried', { flaky: true });
    await sfn.whenDone(executionArn as string);
    const { events: history = [] } = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(history.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
    expect(history[4]?.lambdaFunctionFailedEventDetails).toEqual({
      error: 'Flaky',
      cause: 'first try fails',
    });
    const reversed = await client.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 2 }),
    );
    expect(reversed.events?.map((e) => e.type)).toEqual(['ExecutionSucceeded', 'SucceedStateExited']);
    expect(reversed.nextToken).toBeTruthy();
  });

  it('waits on a task token until SendTaskSuccess, which a used token refuses', async () => {
    // Prepare
    const { executionArn } = await start('held', { wait: true });
    while (tokens.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect((await client.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    // Act
    await client.send(
      new SendTaskSuccessCommand({ taskToken: tokens[0], output: JSON.stringify({ decided: 'yes' }) }),
    );
    await sfn.whenDone(executionArn as string);

    // Assess
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output ?? '{}')).toEqual({ decided: 'yes' });
    const history = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(history.events?.map((e) => e.type)).toContain('TaskSubmitted');
    // the history shows where the token went, never the token
    const scheduled = history.events?.find((e) => e.type === 'TaskScheduled');
    expect(JSON.parse(scheduled?.taskScheduledEventDetails?.parameters ?? '{}')).toMatchObject({
      Payload: { taskToken: '[redacted]' },
    });
    expect(JSON.stringify(history.events)).not.toContain(tokens[0]);
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: tokens[0], output: '{}' })),
    ).rejects.toBeInstanceOf(TaskDoesNotExist);
  });

  it('stops an execution on request', async () => {
    tokens.length = 0;
    const { executionArn } = await start('stopped', { wait: true });
    while (tokens.length === 0) await new Promise((r) => setTimeout(r, 10));
    await client.send(new StopExecutionCommand({ executionArn }));
    await sfn.whenDone(executionArn as string);
    expect((await client.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('ABORTED');
  });

  it('answers like AWS for names in use, unknown executions, and pages of executions', async () => {
    await expect(start('plain', { n: 2 })).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await expect(start('plain', { n: 1 })).resolves.toMatchObject({
      executionArn: expect.stringContaining(':plain'),
    });
    await expect(
      client.send(
        new DescribeExecutionCommand({
          executionArn: 'arn:aws:states:us-east-1:000000000000:execution:test-machine:nope',
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    const first = await client.send(new ListExecutionsCommand({ stateMachineArn: arn, maxResults: 2 }));
    const second = await client.send(
      new ListExecutionsCommand({ stateMachineArn: arn, maxResults: 2, nextToken: first.nextToken }),
    );
    const names = [...(first.executions ?? []), ...(second.executions ?? [])].map((e) => e.name);
    expect(new Set(names).size).toBe(4);
    const succeeded = await client.send(
      new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'SUCCEEDED' }),
    );
    expect(succeeded.executions?.every((e) => e.status === 'SUCCEEDED')).toBe(true);
  });
});

describe('Task inputs', () => {
  it('are frozen on request, so a handler that changes the state it was given fails', async () => {
    // Prepare: one handler that writes into its input, one that only reads it
    const checked = new LocalStepFunctions({ freezeTaskInputs: true });
    const machine = (name: string, work: (input: { data: { n: number } }) => unknown) =>
      checked.createStateMachine(name, definition, {
        Work: async (input) => work(input as { data: { n: number } }),
        Hold: async () => ({}),
      });
    const run = async (arn: string) =>
      checked.whenDone(
        checked.startExecution({ stateMachineArn: arn, input: JSON.stringify({ data: { n: 1 } }) })
          .executionArn,
      );

    // Act
    const changing = await run(
      machine('changing', (input) => {
        input.data.n = 2;
        return input;
      }),
    );
    const reading = await run(machine('reading', (input) => ({ n: input.data.n + 1 })));

    // Assess
    expect(changing.status).toBe('FAILED');
    expect(changing.cause).toMatch(/read only property 'n'/);
    expect(reading.status).toBe('SUCCEEDED');
    expect(JSON.parse(reading.output ?? '{}')).toEqual({ n: 2 });
    await checked.close();
  });
});

describe('the endpoint itself', () => {
  it('refuses requests addressed to another host name (DNS rebinding)', async () => {
    const { hostname, port } = await (
      client.config.endpoint as () => Promise<{ hostname: string; port?: number }>
    )();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: hostname,
          port,
          method: 'POST',
          path: '/',
          headers: { host: `evil.example.com:${port}`, 'x-amz-target': 'AWSStepFunctions.ListStateMachines' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
  });
});

describe('EventBridge PutEvents through the real SDK client', () => {
  it('delivers well-formed events to matching rules and reports bad entries per entry', async () => {
    // Prepare
    const delivered: EventBridgeEvent[] = [];
    bus.addRule({
      name: 'orders',
      pattern: { source: ['shop'], detail: { total: [{ numeric: ['>', 10] }] } },
      target: (e) => void delivered.push(e),
    });

    // Act
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'shop', DetailType: 'Order', Detail: JSON.stringify({ total: 20 }) },
          { Source: 'shop', DetailType: 'Order', Detail: JSON.stringify({ total: 5 }) },
          { Source: 'shop', DetailType: 'Order', Detail: 'not json' },
          { Source: 'shop', DetailType: 'Order', Detail: '{}', EventBusName: 'elsewhere' },
        ],
      }),
    );

    // Assess
    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'ok',
      'MalformedDetail',
      'NotFoundException',
    ]);
    expect(delivered.map((e) => e.detail)).toEqual([{ total: 20 }]);
    expect(delivered[0]).toMatchObject({
      source: 'shop',
      'detail-type': 'Order',
      id: result.Entries?.[0]?.EventId,
    });
    // Every field EventBridge sets, and nothing else: the one envelope schema in core.
    expect(EventBridgeEvent.parse(delivered[0])).toEqual(delivered[0]);
  });
});

/** A JSON object `levels` deep, itself level 1. */
const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

describe('PutEvents takes each entry or none of it', () => {
  /** Events from `source` as a rule's target sees them; the target serializes them, as the stack's does. */
  const deliveredFrom = (source: string, target?: (event: EventBridgeEvent) => void) => {
    const delivered: EventBridgeEvent[] = [];
    bus.addRule({
      name: source,
      pattern: { source: [source] },
      target: (event) => {
        JSON.stringify(event);
        delivered.push(event);
        target?.(event);
      },
    });
    return delivered;
  };
  const entry = (source: string, detail: string) => ({
    Source: source,
    DetailType: 'Stage Reached',
    Detail: detail,
  });

  it('checks every entry before delivering any, answers a bad one in its own result, and delivers the rest once', async () => {
    // Prepare
    const delivered = deliveredFrom('pipeline.batch');
    const good = (n: number) => entry('pipeline.batch', JSON.stringify({ n }));

    // Act
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          good(1),
          entry('pipeline.batch', `{"jobId":"j","metadata":${nested(10_000)}}`),
          entry('pipeline.batch', `{"metadata":${nested(1100)}}`),
          entry('pipeline.batch', '[1, 2]'),
          { DetailType: 'Stage Reached', Detail: '{}' },
          { Source: 'pipeline.batch', Detail: '{}' },
          { Source: 'pipeline.batch', DetailType: 'Stage Reached' },
          entry('pipeline.batch', JSON.stringify({ blob: 'x'.repeat(256 * 1024) })),
          good(2),
        ],
      }),
    );

    // Assess
    expect(result.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'MalformedDetail',
      'MalformedDetail',
      'MalformedDetail',
      'InvalidArgument',
      'InvalidArgument',
      'InvalidArgument',
      'InvalidArgument',
      'ok',
    ]);
    expect(result.FailedEntryCount).toBe(7);
    expect(result.Entries?.slice(1, 8).map((e) => e.ErrorMessage)).toEqual([
      'Detail is malformed: detail.metadata nests more than 1100 levels deep.',
      'Detail is malformed: detail.metadata nests more than 1100 levels deep.',
      'Detail is malformed: it must be a JSON object.',
      'Parameter Source is not valid. Reason: Source is a required argument.',
      'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
      'Parameter Detail is not valid. Reason: Detail is a required argument.',
      expect.stringMatching(
        /^Parameter Entry is not valid\. Reason: the entry is \d+ bytes, over the 262144/,
      ),
    ]);
    expect(delivered.map((e) => e.detail)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(delivered.map((e) => e.id)).toEqual([result.Entries?.[0]?.EventId, result.Entries?.[8]?.EventId]);
  });

  it('takes a Detail 1100 levels deep, as EventBridge does (the stage machine checks the stage contract)', async () => {
    const delivered = deliveredFrom('pipeline.deep');
    const result = await events.send(
      new PutEventsCommand({ Entries: [entry('pipeline.deep', `{"metadata":${nested(1099)}}`)] }),
    );
    expect(result.FailedEntryCount).toBe(0);
    expect(delivered).toHaveLength(1);
  });

  it('answers 200 when a target fails: the failure stays with the target and later entries are still delivered', async () => {
    // Prepare: the first event's target throws
    deliveryErrors.length = 0;
    const delivered = deliveredFrom('pipeline.failing', (event) => {
      if (event.detail.n === 1) throw new Error('target down');
    });

    // Act
    const result = await events.send(
      new PutEventsCommand({
        Entries: [entry('pipeline.failing', '{"n":1}'), entry('pipeline.failing', '{"n":2}')],
      }),
    );

    // Assess: once each, so the client did not send the batch again
    expect(result.FailedEntryCount).toBe(0);
    expect(delivered.map((e) => e.detail)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(deliveryErrors.map((e) => e.message)).toEqual([
      `rule pipeline.failing failed on event ${result.Entries?.[0]?.EventId}: target down`,
    ]);
  });

  it('refuses a batch of more than 10 entries, or of none, as a whole', async () => {
    const delivered = deliveredFrom('pipeline.many');
    const send = (count: number) =>
      events.send(
        new PutEventsCommand({ Entries: Array.from({ length: count }, () => entry('pipeline.many', '{}')) }),
      );
    for (const count of [11, 0]) {
      const error = await send(count).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    }
    expect(delivered).toHaveLength(0);
    await expect(send(10)).resolves.toMatchObject({ FailedEntryCount: 0 });
    expect(delivered).toHaveLength(10);
  });

  it('keeps the time the client gave the event', async () => {
    const delivered = deliveredFrom('pipeline.timed');
    await events.send(
      new PutEventsCommand({
        Entries: [{ ...entry('pipeline.timed', '{}'), Time: new Date('2024-05-01T10:00:00Z') }],
      }),
    );
    expect(delivered[0]?.time).toBe('2024-05-01T10:00:00Z');
  });
});

describe('the endpoint answers only requests signed with its key pair', () => {
  /** A request signed by the SDK's own signer, then sent as given (so it can be changed after signing). */
  async function sendSigned(options: {
    body?: string;
    sentBody?: string;
    keys?: AwsKeyPair;
    service?: string;
    at?: Date;
    headers?: Record<string, string>;
    unsigned?: string[];
  }) {
    const body = options.body ?? '{}';
    const { hostname, port } = new URL(endpoint);
    const signer = new SignatureV4({
      credentials: options.keys ?? local.keys,
      region: 'us-east-1',
      service: options.service ?? 'states',
      sha256: Sha256,
    });
    const signed = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname,
        port: Number(port),
        path: '/',
        query: {},
        headers: {
          host: `${hostname}:${port}`,
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'AWSStepFunctions.ListStateMachines',
          ...options.headers,
        },
        body,
      },
      { signingDate: options.at ?? new Date(), unsignableHeaders: new Set(options.unsigned ?? []) },
    );
    return send(signed.headers, options.sentBody ?? body);
  }
  function send(headers: Record<string, string>, body: string) {
    const { hostname, port } = new URL(endpoint);
    return new Promise<{ status: number; body: { __type?: string; message?: string } }>((resolve, reject) => {
      const req = request({ host: hostname, port, method: 'POST', path: '/', headers }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  const sfnWith = (credentials: AwsKeyPair, extra: object = {}) =>
    new SFNClient({ endpoint, region: 'us-east-1', credentials, ...extra });

  it('generates the pair once, into a file only its owner can read, and keeps it on the next start', async () => {
    const file = join(home, 'aws-credentials');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toMatch(
      /^\[stagehooks\]\naws_access_key_id = AKIA[A-Z2-7]{16}\naws_secret_access_key = \S{40}\n$/,
    );
    expect(await loadAwsCredentials(home, undefined)).toEqual(local);
    const fromEnv = { accessKeyId: 'AKIAFROMTHEENVIRONMENT', secretAccessKey: 'x'.repeat(40) };
    expect(await loadAwsCredentials(home, fromEnv)).toEqual({ keys: fromEnv, file: undefined });
  });

  it('takes a request signed by hand with the pair (the control for the refusals below)', async () => {
    const answer = await sendSigned({});
    expect(answer).toMatchObject({ status: 200, body: { stateMachines: [{ name: 'test-machine' }] } });
  });

  it('refuses a request whose operation (x-amz-target) or host is not signed: it could be sent as another', async () => {
    for (const name of ['x-amz-target', 'host']) {
      const answer = await sendSigned({ unsigned: [name] });
      expect(answer).toMatchObject({
        status: 403,
        body: { __type: 'InvalidSignatureException', message: `The ${name} header must be signed.` },
      });
    }
  });

  it('refuses an unknown access key and a wrong secret key, as AWS does', async () => {
    const unknown = sfnWith({
      accessKeyId: 'AKIAUNKNOWNKEY000000',
      secretAccessKey: local.keys.secretAccessKey,
    });
    const wrongSecret = sfnWith({ accessKeyId: local.keys.accessKeyId, secretAccessKey: 'x'.repeat(40) });
    await expect(unknown.send(new ListStateMachinesCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(wrongSecret.send(new ListStateMachinesCommand({}))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 403 },
    });
    unknown.destroy();
    wrongSecret.destroy();
  });

  it('refuses an unsigned request, and one whose Authorization header lacks its parts', async () => {
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AWSStepFunctions.ListStateMachines',
    };
    expect(await send(headers, '{}')).toMatchObject({
      status: 403,
      body: { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' },
    });
    expect(
      await send(
        { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${local.keys.accessKeyId}` },
        '{}',
      ),
    ).toMatchObject({
      status: 400,
      body: {
        __type: 'IncompleteSignatureException',
        message:
          "Authorization header requires 'SignedHeaders' parameter. Authorization header requires 'Signature' parameter.",
      },
    });
  });

  it('refuses a body changed after signing, whether or not its hash was signed', async () => {
    const target = { 'x-amz-target': 'AWSStepFunctions.DescribeExecution' };
    const signedHash = {
      ...target,
      'x-amz-content-sha256': createHash('sha256').update('{"executionArn":"a"}').digest('hex'),
    };
    for (const headers of [target, signedHash]) {
      const answer = await sendSigned({
        headers,
        body: '{"executionArn":"a"}',
        sentBody: '{"executionArn":"b"}',
      });
      expect(answer).toMatchObject({ status: 403, body: { __type: 'InvalidSignatureException' } });
    }
  });

  it('refuses a signature for another service', async () => {
    expect(await sendSigned({ service: 'events' })).toMatchObject({
      status: 403,
      body: {
        __type: 'InvalidSignatureException',
        message: "Credential should be scoped to correct service: 'states'.",
      },
    });
  });

  it('refuses a request dated more than 5 minutes off, and the SDK corrects its clock from the answer, as against AWS', async () => {
    // Act
    const late = await sendSigned({ at: new Date(Date.now() - 6 * 60_000) });
    const early = await sendSigned({ at: new Date(Date.now() + 6 * 60_000) });
    const skewed = sfnWith(local.keys, { systemClockOffset: -10 * 60_000, maxAttempts: 1 });
    const corrected = sfnWith(local.keys, { systemClockOffset: -10 * 60_000 });

    // Assess
    expect(late).toMatchObject({ status: 400, body: { __type: 'InvalidSignatureException' } });
    expect(late.body.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
    expect(early.body.message).toMatch(/^Signature not yet current: /);
    await expect(skewed.send(new ListStateMachinesCommand({}))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    await expect(corrected.send(new ListStateMachinesCommand({}))).resolves.toMatchObject({
      stateMachines: [{ name: 'test-machine' }],
    });
    skewed.destroy();
    corrected.destroy();
  });
});
