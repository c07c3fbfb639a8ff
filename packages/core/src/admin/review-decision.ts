import type { Hook, Review, ReviewDecision } from '../domain';
import { NotFoundError, ReviewNotAwaitedError } from '../errors';
import type { HookRegistry, ReviewStore, TaskReporter } from '../ports';

export interface ReviewDecisionDeps {
  reviews: Pick<ReviewStore, 'get' | 'decide'>;
  registry: Pick<HookRegistry, 'get'>;
  tasks: Pick<TaskReporter, 'succeed'>;
}

export interface ReviewDecisionRequest {
  reviewId: string;
  decision: ReviewDecision;
  by: string;
  comment: string | null;
}

/**
 * Decides a review: stores the decision (a ConflictError once it is no longer open), then completes the
 * waiting AwaitReview task with it. A decision made before the stage stored its token is picked up when
 * it does; one made after the task stopped waiting (it timed out or was stopped) stays recorded, and is
 * a ReviewNotAwaitedError. `authorize` is the caller's rule for who may decide this review, given the
 * gate (the hook that blocked; undefined once deleted): it throws to refuse, before anything is stored.
 */
export async function decideReview(
  deps: ReviewDecisionDeps,
  request: ReviewDecisionRequest,
  authorize: (review: Review, gate: Hook | undefined) => void,
): Promise<Review> {
  const open = await deps.reviews.get(request.reviewId);
  if (!open) throw new NotFoundError('review', request.reviewId);
  authorize(open, await deps.registry.get(open.hookId));
  const { decision, by, comment } = request;
  const review = await deps.reviews.decide(open.id, decision, by, comment);
  if (
    review.taskToken &&
    (await deps.tasks.succeed(review.taskToken, { decision, by, comment })) === 'closed'
  ) {
    throw new ReviewNotAwaitedError(review.id);
  }
  return review;
}
