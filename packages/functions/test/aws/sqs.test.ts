import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SqsScriptJobQueue } from '../../src/aws';
import { ScriptQueueError } from '../../src/errors';
import { clientConfig } from '../fixtures';

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
