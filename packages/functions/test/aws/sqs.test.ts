import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Hook, ScriptTestMessage } from '@stagehooks/core/domain';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SqsScriptJobQueue, SqsScriptTestQueue } from '../../src/aws';
import { ScriptQueueError } from '../../src/errors';
import { clientConfig, testJobFor } from '../fixtures';

const client = new SQSClient(clientConfig);
const sqs = mockClient(client);
afterEach(() => sqs.reset());

const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/stagehooks-scripts';

describe('SqsScriptJobQueue', () => {
  it('long-polls for at most ten messages with the given visibility', async () => {
    // Prepare
    sqs.on(ReceiveMessageCommand).resolves({
      Messages: [{ MessageId: 'm1', ReceiptHandle: 'rh-1', Body: '{"taskToken":"t","job":{}}' }],
    });
    const queue = new SqsScriptJobQueue(client, queueUrl);

    // Act
    const jobs = await queue.receive({ max: 25, waitSeconds: 20, visibilitySeconds: 60 });

    // Assess
    expect(jobs).toEqual([{ messageId: 'm1', receiptHandle: 'rh-1', body: '{"taskToken":"t","job":{}}' }]);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 20,
      VisibilityTimeout: 60,
    });
  });

  it('extends, releases and deletes by receipt handle', async () => {
    // Prepare
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    sqs.on(DeleteMessageCommand).resolves({});
    const queue = new SqsScriptJobQueue(client, queueUrl);

    // Act
    await queue.extendVisibility('rh-1', 60);
    await queue.release('rh-2');
    await queue.delete('rh-1');

    // Assess
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: queueUrl, ReceiptHandle: 'rh-1', VisibilityTimeout: 60 },
      { QueueUrl: queueUrl, ReceiptHandle: 'rh-2', VisibilityTimeout: 0 },
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: queueUrl,
      ReceiptHandle: 'rh-1',
    });
  });

  it('translates failures into ScriptQueueError', async () => {
    // Prepare
    sqs
      .on(DeleteMessageCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'ReceiptHandleIsInvalid' }));
    const queue = new SqsScriptJobQueue(client, queueUrl);

    // Act
    const error = await queue.delete('rh-1').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ScriptQueueError);
    expect(error).toMatchObject({
      message: 'the script queue request failed (DeleteMessage): ReceiptHandleIsInvalid',
    });
  });
});

describe('SqsScriptTestQueue', () => {
  const hook = Hook.parse({
    id: '01JTESTEDHOOK0000000000000',
    name: 'color_grade',
    type: 'shell',
    hookPoint: 'post_segment',
    scopeType: 'project',
    scopeId: 'p1',
    failureMode: 'block',
    sortOrder: 10,
    enabled: true,
    revision: 2,
    config: { script: 'echo graded' },
    createdBy: 'ann',
    createdAt: '2026-11-20T12:00:00.000Z',
    updatedAt: '2026-11-20T12:00:00.000Z',
  });

  it('sends a test run to the pool queue as { testRun }, with no task token', async () => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });
    const job = testJobFor(hook);

    // Act
    await new SqsScriptTestQueue(client, queueUrl).submit(job);

    // Assess
    const [call] = sqs.commandCalls(SendMessageCommand);
    expect(call?.args[0].input.QueueUrl).toBe(queueUrl);
    const body = JSON.parse(call?.args[0].input.MessageBody ?? 'null');
    expect(ScriptTestMessage.parse(body)).toEqual({ testRun: job });
    expect(JSON.stringify(body)).not.toContain('taskToken');
  });

  it('translates a failed send into ScriptQueueError', async () => {
    // Prepare
    sqs.on(SendMessageCommand).rejects(Object.assign(new Error('no queue'), { name: 'QueueDoesNotExist' }));

    // Act
    const error = await new SqsScriptTestQueue(client, queueUrl)
      .submit(testJobFor(hook))
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ScriptQueueError);
    expect(error).toMatchObject({
      message: 'the script queue request failed (SendMessage): QueueDoesNotExist',
    });
  });
});
