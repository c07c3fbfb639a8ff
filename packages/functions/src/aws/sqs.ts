import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { ScriptTestJob, ScriptTestMessage } from '@stagehooks/core/domain';
import type { QueuedJob, ScriptJobQueue, ScriptTestQueue } from '@stagehooks/core/ports';
import { ScriptQueueError } from '../errors';

/** The pool runner's job queue: the messages RunScriptInPool sends (`{ taskToken, job }`). */
export class SqsScriptJobQueue implements ScriptJobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async receive(request: {
    max: number;
    waitSeconds: number;
    visibilitySeconds: number;
    signal?: AbortSignal;
  }): Promise<QueuedJob[]> {
    try {
      const output = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: Math.min(10, Math.max(1, request.max)),
          WaitTimeSeconds: request.waitSeconds,
          VisibilityTimeout: request.visibilitySeconds,
        }),
        { abortSignal: request.signal },
      );
      return (output.Messages ?? []).flatMap((message) =>
        message.ReceiptHandle === undefined
          ? []
          : [
              {
                messageId: message.MessageId ?? 'unknown',
                receiptHandle: message.ReceiptHandle,
                body: message.Body ?? '',
              },
            ],
      );
    } catch (error) {
      // A long poll cut short by a stopping runner is not a failure.
      if (request.signal?.aborted) return [];
      throw new ScriptQueueError('ReceiveMessage', { cause: error });
    }
  }

  async extendVisibility(receiptHandle: string, seconds: number): Promise<void> {
    await this.changeVisibility(receiptHandle, seconds);
  }

  async release(receiptHandle: string): Promise<void> {
    await this.changeVisibility(receiptHandle, 0);
  }

  async delete(receiptHandle: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }),
      );
    } catch (error) {
      throw new ScriptQueueError('DeleteMessage', { cause: error });
    }
  }

  private async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      throw new ScriptQueueError('ChangeMessageVisibility', { cause: error });
    }
  }
}

/** The admin API's side of the same queue: a script hook's test run, for the pool runner to take. */
export class SqsScriptTestQueue implements ScriptTestQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async submit(job: ScriptTestJob): Promise<void> {
    const message: ScriptTestMessage = { testRun: job };
    try {
      await this.client.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) }),
      );
    } catch (error) {
      throw new ScriptQueueError('SendMessage', { cause: error });
    }
  }
}
