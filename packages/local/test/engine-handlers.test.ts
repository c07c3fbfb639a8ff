import { stateNames } from '@stagehooks/core/engine';
import type { StageHandlers } from '@stagehooks/functions/stage';
import { localTaskHandlers } from '@stagehooks/local/engine';
import { LocalEventBus } from '@stagehooks/local/event-bus';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

/** Handlers that answer with the time their Lambda context says they have left. */
const timeLeft = async (_event: unknown, context: Context) => context.getRemainingTimeInMillis();
const handlers = localTaskHandlers(
  {
    runWebhook: timeLeft,
    runScriptAndRecord: timeLeft,
    awaitReview: async (_event: unknown, context: Context) => ({ left: context.getRemainingTimeInMillis() }),
  } as unknown as StageHandlers,
  new LocalEventBus(),
);
const contextOf = (timeoutSeconds: number) => ({
  executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m:e',
  timeoutSeconds,
  waitForTaskToken: vi.fn(),
});

// middy ends a handler 5 ms before its context runs out of time: a fixed figure there would cut a 60 s
// webhook or a 15 min script, which their states allow, at that figure.
describe('local task handlers', () => {
  it('give a Lambda task the time its state allows, as a function timeout does', async () => {
    // Act
    const left = await handlers[stateNames.runWebhook]({}, contextOf(90));

    // Assess
    expect(left).toBeGreaterThan(89_000);
    expect(left).toBeLessThanOrEqual(90_000);
  });

  it('give a pooled script the time its state allows', async () => {
    // Act
    const left = await handlers[stateNames.runScriptInPool]({ MessageBody: { job: {} } }, contextOf(960));

    // Assess
    expect(left).toBeGreaterThan(959_000);
  });

  it('give the review waiter a Lambda run, not the review timeout', async () => {
    // Act
    const answer = await handlers[stateNames.awaitReview](
      { Payload: { reviewId: 'r1', taskToken: 't1' } },
      contextOf(7 * 24 * 3600),
    );

    // Assess
    expect(answer).toEqual({ left: expect.any(Number) });
    expect((answer as { left: number }).left).toBeLessThanOrEqual(30_000);
  });
});
