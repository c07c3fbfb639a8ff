import { decideReview } from '@stagehooks/core/admin';
import type { Review } from '@stagehooks/core/domain';
import { DynamoHookRegistry, DynamoReviewStore } from '@stagehooks/core/dynamodb';
import { ConflictError, NotFoundError, ReviewNotAwaitedError } from '@stagehooks/core/errors';
import type { TaskReport } from '@stagehooks/core/ports';
import { createTestTable } from '@test/dynamodb';
import { hookCreate } from '@test/hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let reviews: DynamoReviewStore;
let registry: DynamoHookRegistry;

beforeAll(async () => {
  table = await createTestTable();
  reviews = new DynamoReviewStore(table.doc, { tableName: table.tableName });
  registry = new DynamoHookRegistry(table.doc, { tableName: table.tableName });
});
afterAll(() => table.drop());

/** An open review of a blocked stage, as FlagForReview creates it. */
async function openReview(id: string, overrides: Partial<Review> = {}): Promise<Review> {
  const review: Review = {
    id,
    status: 'open',
    jobId: `job-${id}`,
    hookPoint: 'post_segment',
    scopeType: 'project',
    executionId: `arn:aws:states:us-east-1:000000000000:execution:stagehooks-stage:${id}`,
    hookId: 'h-gone',
    hookName: 'gate',
    logId: `${id}.log`,
    errorMessage: 'exited with code 1',
    taskToken: null,
    decision: null,
    decidedBy: null,
    comment: null,
    createdAt: '2026-11-20T12:00:00.000Z',
    decidedAt: null,
    ...overrides,
  };
  await reviews.create(review);
  return review;
}

/** The waiting task as Step Functions stands: every report recorded, answered `answer`. */
function waitingTask(answer: TaskReport = 'reported') {
  const reports: Array<{ taskToken: string; output: object }> = [];
  return {
    reports,
    succeed: async (taskToken: string, output: object) => {
      reports.push({ taskToken, output });
      return answer;
    },
  };
}

const allowed = () => undefined;

describe('decideReview', () => {
  it('stores the decision, then completes the waiting task with it', async () => {
    // Prepare
    await openReview('r-waiting');
    await reviews.attachToken('r-waiting', 'token-waiting');
    const tasks = waitingTask();

    // Act
    const decided = await decideReview(
      { reviews, registry, tasks },
      { reviewId: 'r-waiting', decision: 'approve', by: 'ann', comment: 'extras, fine' },
      allowed,
    );

    // Assess
    expect(decided).toMatchObject({ status: 'approved', decidedBy: 'ann', comment: 'extras, fine' });
    expect(tasks.reports).toEqual([
      { taskToken: 'token-waiting', output: { decision: 'approve', by: 'ann', comment: 'extras, fine' } },
    ]);
    expect(await reviews.get('r-waiting')).toMatchObject({ status: 'approved', decision: 'approve' });
  });

  it('stores a decision made before the stage stored its token, and tells no task', async () => {
    // Prepare
    await openReview('r-early');
    const tasks = waitingTask();

    // Act
    const decided = await decideReview(
      { reviews, registry, tasks },
      { reviewId: 'r-early', decision: 'reject', by: 'ann', comment: null },
      allowed,
    );

    // Assess: AwaitReview finds it when it stores its token
    expect(decided.status).toBe('rejected');
    expect(tasks.reports).toEqual([]);
    expect((await reviews.attachToken('r-early', 'token-late')).decision).toBe('reject');
  });

  it('keeps a decision the stage no longer waits for, and says so with a conflict', async () => {
    // Prepare
    await openReview('r-timed-out');
    await reviews.attachToken('r-timed-out', 'token-timed-out');

    // Act
    const deciding = decideReview(
      { reviews, registry, tasks: waitingTask('closed') },
      { reviewId: 'r-timed-out', decision: 'approve', by: 'ann', comment: null },
      allowed,
    );

    // Assess
    await expect(deciding).rejects.toBeInstanceOf(ReviewNotAwaitedError);
    await expect(deciding).rejects.toMatchObject({ statusCode: 409 });
    expect(await reviews.get('r-timed-out')).toMatchObject({ status: 'approved', decidedBy: 'ann' });
  });

  it('asks the caller who may decide, with the gate, before it stores anything', async () => {
    // Prepare
    const { hook: gate } = await registry.create(
      hookCreate({ name: 'locked_gate', failureMode: 'block', locked: true }),
      'admin',
    );
    await openReview('r-locked', { hookId: gate.id, scopeType: 'studio' });
    await reviews.attachToken('r-locked', 'token-locked');
    const tasks = waitingTask();
    const seen: Array<{ review: string; gate: string | undefined; locked: boolean | undefined }> = [];

    // Act
    const deciding = decideReview(
      { reviews, registry, tasks },
      { reviewId: 'r-locked', decision: 'approve', by: 'erin', comment: null },
      (review, hook) => {
        seen.push({ review: review.id, gate: hook?.id, locked: hook?.locked });
        throw new Error('only an admin may decide a locked gate');
      },
    );

    // Assess
    await expect(deciding).rejects.toThrow('only an admin');
    expect(seen).toEqual([{ review: 'r-locked', gate: gate.id, locked: true }]);
    expect(await reviews.get('r-locked')).toMatchObject({ status: 'open', decision: null });
    expect(tasks.reports).toEqual([]);
  });

  it('answers not found for an unknown review, and a conflict for one already decided', async () => {
    // Prepare
    await openReview('r-twice');
    const deps = { reviews, registry, tasks: waitingTask() };
    const request = { reviewId: 'r-twice', decision: 'approve' as const, by: 'ann', comment: null };
    await decideReview(deps, request, allowed);

    // Act and assess
    await expect(decideReview(deps, { ...request, reviewId: 'r-none' }, allowed)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(decideReview(deps, { ...request, decision: 'reject' }, allowed)).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await reviews.get('r-twice'))?.decision).toBe('approve');
  });
});
