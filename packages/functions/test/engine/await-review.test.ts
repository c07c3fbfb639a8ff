import { readFile } from 'node:fs/promises';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { Review } from '@stagehooks/core/domain';
import { DynamoReviewStore } from '@stagehooks/core/dynamodb';
import { ApplyReviewDecisionArgs } from '@stagehooks/core/engine';
import { createTestTable } from '@test/dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StepFunctionsTaskReporter } from '../../src/aws';
import { createAwsStageTasks, createLambdaHandlers, type LambdaHandlers } from '../../src/engine';
import { clientConfig, executionId, lambdaContext, recordingLogger } from '../fixtures';

const sfnClient = new SFNClient(clientConfig);
const sfn = mockClient(sfnClient);
afterEach(() => sfn.reset());

let table: Awaited<ReturnType<typeof createTestTable>>;
let reviews: DynamoReviewStore;
let handlers: LambdaHandlers;

beforeAll(async () => {
  table = await createTestTable();
  reviews = new DynamoReviewStore(table.doc, { tableName: table.tableName });
  const tasks = createAwsStageTasks({
    config: { tableName: table.tableName, logRetentionDays: 30 },
    dynamodb: table.client,
  });
  handlers = createLambdaHandlers(tasks, {
    reporter: new StepFunctionsTaskReporter(sfnClient),
    log: recordingLogger().log,
  });
});
afterAll(() => table?.drop());

/** The AwaitReview payload of `lambda:invoke.waitForTaskToken`, from the fixture. */
async function awaitReviewEvent(reviewId: string): Promise<{ reviewId: string; taskToken: string }> {
  const fixture = JSON.parse(await readFile(new URL('../events/await-review.json', import.meta.url), 'utf8'));
  return { ...fixture, reviewId };
}

async function openReview(id: string): Promise<void> {
  const review: Review = {
    id,
    status: 'open',
    jobId: 'job-42',
    hookPoint: 'post_segment',
    scopeType: 'project',
    executionId,
    hookId: 'h1',
    hookName: 'color_grade',
    logId: 'job-42-post_segment.0',
    errorMessage: 'exit 1',
    taskToken: null,
    decision: null,
    decidedBy: null,
    comment: null,
    createdAt: '2026-11-20T12:00:00.000Z',
    decidedAt: null,
  };
  await reviews.create(review);
}

describe('AwaitReview Lambda', () => {
  it('completes the task itself, exactly once, when the decision came before the token', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).resolves({});
    await openReview('review-early');
    await reviews.decide('review-early', 'approve', 'alice', 'looks fine');
    const event = await awaitReviewEvent('review-early');

    // Act
    await handlers.awaitReview(event, lambdaContext('AwaitReview'));

    // Assess
    const calls = sfn.commandCalls(SendTaskSuccessCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.taskToken).toBe(event.taskToken);
    const output: unknown = JSON.parse(input?.output ?? 'null');
    expect(output).toEqual({ decision: 'approve', by: 'alice', comment: 'looks fine' });
    // What ApplyReviewDecision will receive as `decision` must pass its contract.
    expect(ApplyReviewDecisionArgs.shape.decision.safeParse(output).success).toBe(true);
  });

  it('only attaches the token when no decision was made yet', async () => {
    // Prepare
    await openReview('review-waiting');
    const event = await awaitReviewEvent('review-waiting');

    // Act
    const result = await handlers.awaitReview(event, lambdaContext('AwaitReview'));

    // Assess
    expect(result).toEqual({ reviewId: 'review-waiting', earlyOutput: null });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect((await reviews.get('review-waiting'))?.taskToken).toBe(event.taskToken);
  });

  it('refuses a malformed payload before touching the review or the task', async () => {
    // Act
    const error = await handlers
      .awaitReview({ reviewId: 'review-early' } as never, lambdaContext('AwaitReview'))
      .catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'StageTask.InvalidInput' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });
});
