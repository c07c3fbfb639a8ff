import type { Review } from '@stagehooks/core/domain';

/** An open review of a blocked `gate` hook, as FlagForReview creates it. */
export function openReview(overrides: Partial<Review> & Pick<Review, 'id'>): Review {
  return {
    status: 'open',
    jobId: 'job-review',
    hookPoint: 'post_segment',
    scopeType: 'project',
    executionId: `exec-${overrides.id}`,
    hookId: 'id-gate',
    hookName: 'gate',
    logId: `log-${overrides.id}`,
    errorMessage: null,
    taskToken: null,
    decision: null,
    decidedBy: null,
    comment: null,
    createdAt: '2026-11-20T12:00:00.000Z',
    decidedAt: null,
    ...overrides,
  };
}
