import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgeEventPublisher } from '../../src/aws';
import { EventPublishError } from '../../src/errors';
import { clientConfig } from '../fixtures';

const client = new EventBridgeClient(clientConfig);
const eventBridge = mockClient(client);
afterEach(() => eventBridge.reset());

const blocked = {
  detailType: 'Stage Hooks Blocked' as const,
  detail: { jobId: 'job-42', hookPoint: 'post_segment', reviewId: 'r1' },
};
const completed = {
  detailType: 'Stage Hooks Completed' as const,
  detail: { jobId: 'job-42', verdict: 'passed' },
};

async function errorOf(work: Promise<unknown>): Promise<EventPublishError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof EventPublishError))
    throw new Error(`expected an EventPublishError, got ${String(error)}`);
  return error;
}

describe('EventBridgeEventPublisher', () => {
  it('puts each event on the configured bus with Source stagehooks and the detail as JSON', async () => {
    // Prepare
    eventBridge
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }, { EventId: 'e2' }] });
    const publisher = new EventBridgeEventPublisher(client, { eventBusName: 'stagehooks-prod' });

    // Act
    await publisher.publish([blocked, completed]);

    // Assess
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.Entries).toEqual([
      {
        EventBusName: 'stagehooks-prod',
        Source: 'stagehooks',
        DetailType: 'Stage Hooks Blocked',
        Detail: JSON.stringify(blocked.detail),
      },
      {
        EventBusName: 'stagehooks-prod',
        Source: 'stagehooks',
        DetailType: 'Stage Hooks Completed',
        Detail: JSON.stringify(completed.detail),
      },
    ]);
  });

  it('sends again only the entries EventBridge refused', async () => {
    // Prepare
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'e1' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e2' }] });
    const publisher = new EventBridgeEventPublisher(client, { eventBusName: 'stagehooks', retryDelayMs: 0 });

    // Act
    await publisher.publish([blocked, completed]);

    // Assess
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.Entries?.map((e) => e.DetailType)).toEqual(['Stage Hooks Completed']);
  });

  it('throws an EventPublishError naming the refused entries when FailedEntryCount stays above 0', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    const publisher = new EventBridgeEventPublisher(client, {
      eventBusName: 'stagehooks',
      attempts: 2,
      retryDelayMs: 0,
    });

    // Act
    const error = await errorOf(publisher.publish([blocked]));

    // Assess
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
    expect(error.failed).toEqual([
      { detailType: 'Stage Hooks Blocked', errorCode: 'InternalFailure', errorMessage: 'try again' },
    ]);
    expect(error.message).toContain('Stage Hooks Blocked (InternalFailure: try again)');
  });

  it('translates a failed request into an EventPublishError with the SDK error as cause', async () => {
    // Prepare
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    eventBridge.on(PutEventsCommand).rejects(denied);
    const publisher = new EventBridgeEventPublisher(client, { eventBusName: 'stagehooks' });

    // Act
    const error = await errorOf(publisher.publish([completed]));

    // Assess
    expect(error.message).toBe('PutEvents on stagehooks failed (AccessDeniedException)');
    expect(error.cause).toBe(denied);
  });

  it('sends more than ten events in requests of ten', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })),
    }));
    const publisher = new EventBridgeEventPublisher(client, { eventBusName: 'stagehooks' });

    // Act
    await publisher.publish(Array.from({ length: 12 }, () => completed));

    // Assess
    expect(eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([
      10, 2,
    ]);
  });
});
