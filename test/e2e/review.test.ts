import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import type { Review } from '@stagehooks/core/domain';
import { startTestStack, type TestStack } from '@test/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let t: TestStack;

// A short review timeout, so the expiry path is testable; decisions below arrive well within it.
const REVIEW_TIMEOUT_SECONDS = 6;

beforeAll(async () => {
  t = await startTestStack({ STAGEHOOKS_REVIEW_TIMEOUT_SECONDS: String(REVIEW_TIMEOUT_SECONDS) });
}, 120_000);
afterAll(() => t?.close());

/** A project with: a passing hook, a block hook that fails, and two hooks after it. */
async function blockedProject(projectId: string) {
  await t.define({
    name: 'first',
    type: 'shell',
    hookPoint: 'post_segment',
    scopeType: 'project',
    scopeId: projectId,
    sortOrder: 10,
    config: { script: 'true' },
  });
  await t.define({
    name: 'gate',
    type: 'shell',
    hookPoint: 'post_segment',
    scopeType: 'project',
    scopeId: projectId,
    sortOrder: 20,
    failureMode: 'block',
    config: { script: 'echo \'{"status":"failed","message":"faces detected"}\'; exit 1' },
  });
  await t.define({
    name: 'after_a',
    type: 'shell',
    hookPoint: 'post_segment',
    scopeType: 'project',
    scopeId: projectId,
    sortOrder: 30,
    config: { script: 'echo ran' },
  });
  await t.define({
    name: 'after_b',
    type: 'python',
    hookPoint: 'post_segment',
    scopeType: 'project',
    scopeId: projectId,
    sortOrder: 40,
    config: { script: 'print("ran")' },
  });
}

/** Waits for the review the blocked stage opened to hold its task token. */
async function awaitingReview(jobId: string): Promise<Review> {
  const blocked = await t.receiver.waitFor(
    (e) => e['detail-type'] === 'Stage Hooks Blocked' && e.detail.jobId === jobId,
  );
  const reviewId = String(blocked.detail.reviewId);
  for (let i = 0; i < 100; i++) {
    const review = await t.stack.reviews.get(reviewId);
    if (review?.taskToken) return review;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`review ${reviewId} never got its task token`);
}

const logsOf = async (jobId: string) =>
  (await t.stack.logs.listByJob(jobId)).items.map((l) => [l.hookName, l.status, l.outcome]);

describe('a block hook', () => {
  it('opens a review, announces the block, and waits with no verdict', async () => {
    // Prepare
    await blockedProject('p-wait');

    // Act
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-wait', projectId: 'p-wait' });
    const review = await awaitingReview('job-wait');

    // Assess
    const blocked = t.receiver.events.find(
      (e) => e['detail-type'] === 'Stage Hooks Blocked' && e.detail.jobId === 'job-wait',
    );
    expect(blocked?.detail).toMatchObject({
      hookPoint: 'post_segment',
      name: 'gate',
      reviewId: review.id,
      errorMessage: 'faces detected',
    });
    expect(review).toMatchObject({ status: 'open', hookName: 'gate', jobId: 'job-wait' });
    expect(
      t.receiver.events.some(
        (e) => e['detail-type'] === 'Stage Hooks Completed' && e.detail.jobId === 'job-wait',
      ),
    ).toBe(false);
    expect(await logsOf('job-wait')).toEqual([
      ['first', 'passed', 'continued'],
      ['gate', 'failed', 'blocked'],
    ]);
    // release it so the stack stops cleanly
    await t.sfn.send(
      new SendTaskSuccessCommand({
        taskToken: review.taskToken as string,
        output: JSON.stringify({ decision: 'reject', by: 'test', comment: null }),
      }),
    );
  });

  it('approved through SendTaskSuccess: the remaining hooks run and the verdict records the approval', async () => {
    // Prepare
    await blockedProject('p-approve');
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-approve', projectId: 'p-approve' });
    const review = await awaitingReview('job-approve');

    // Act: the real SFN client, with the token from the review item
    await t.sfn.send(
      new SendTaskSuccessCommand({
        taskToken: review.taskToken as string,
        output: JSON.stringify({ decision: 'approve', by: 'alice', comment: 'faces are extras, fine' }),
      }),
    );
    const verdict = await t.receiver.verdict('job-approve', 'post_segment');

    // Assess
    expect(verdict.detail).toMatchObject({
      verdict: 'passed',
      review: { reviewId: review.id, decision: 'approve', by: 'alice', comment: 'faces are extras, fine' },
    });
    expect(await logsOf('job-approve')).toEqual([
      ['first', 'passed', 'continued'],
      ['gate', 'failed', 'blocked'],
      ['after_a', 'passed', 'continued'],
      ['after_b', 'passed', 'continued'],
    ]);
    expect(await t.stack.reviews.get(review.id)).toMatchObject({
      status: 'approved',
      decision: 'approve',
      decidedBy: 'alice',
    });
  });

  it('rejected: the verdict is blocked and the rest is logged as skipped', async () => {
    // Prepare
    await blockedProject('p-reject');
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-reject', projectId: 'p-reject' });
    const review = await awaitingReview('job-reject');

    // Act
    await t.sfn.send(
      new SendTaskSuccessCommand({
        taskToken: review.taskToken as string,
        output: JSON.stringify({ decision: 'reject', by: 'bob', comment: 'no' }),
      }),
    );
    const verdict = await t.receiver.verdict('job-reject', 'post_segment');

    // Assess
    expect(verdict.detail).toMatchObject({ verdict: 'blocked', review: { decision: 'reject', by: 'bob' } });
    expect(await logsOf('job-reject')).toEqual([
      ['first', 'passed', 'continued'],
      ['gate', 'failed', 'blocked'],
      ['after_a', 'skipped', 'ignored'],
      ['after_b', 'skipped', 'ignored'],
    ]);
    const results = verdict.detail.results as Array<{ name: string; status: string }>;
    expect(results.map((r) => r.status)).toEqual(['passed', 'failed', 'skipped', 'skipped']);
    expect((await t.stack.reviews.get(review.id))?.status).toBe('rejected');
  });

  it('rejected through SendTaskFailure counts as a rejection', async () => {
    await blockedProject('p-fail');
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-fail', projectId: 'p-fail' });
    const review = await awaitingReview('job-fail');
    await t.sfn.send(
      new SendTaskFailureCommand({
        taskToken: review.taskToken as string,
        error: 'Review.Rejected',
        cause: 'wrong cut',
      }),
    );
    const verdict = await t.receiver.verdict('job-fail', 'post_segment');
    expect(verdict.detail).toMatchObject({
      verdict: 'blocked',
      review: { decision: 'reject', comment: 'wrong cut' },
    });
  });

  it('not decided within the review timeout: blocked, the rest skipped, the review expired', async () => {
    // Prepare
    await blockedProject('p-expire');
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-expire', projectId: 'p-expire' });
    const review = await awaitingReview('job-expire');

    // Act: nobody decides
    const verdict = await t.receiver.verdict(
      'job-expire',
      'post_segment',
      (REVIEW_TIMEOUT_SECONDS + 10) * 1000,
    );

    // Assess
    expect(verdict.detail).toMatchObject({
      verdict: 'blocked',
      review: { decision: 'reject', by: 'stagehooks' },
    });
    expect((await logsOf('job-expire')).map(([name, status]) => `${name}:${status}`)).toEqual([
      'first:passed',
      'gate:failed',
      'after_a:skipped',
      'after_b:skipped',
    ]);
    expect((await t.stack.reviews.get(review.id))?.status).toBe('expired');
  }, 30_000);
});
