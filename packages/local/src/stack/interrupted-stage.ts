/**
 * Ending, on restart, a stage whose execution stopped mid-way because the local stack went down. Only
 * the local stack needs it (on AWS an execution outlives any process), so it lives here; it composes
 * core's pure run-state transitions with the ports.
 */
import {
  isJsonObject,
  stageCompletedDetailType,
  stageDetachedCompletedDetailType,
} from '@stagehooks/core/domain';
import {
  initialRun,
  logsWritten,
  pendingLogDrafts,
  RunState,
  recordAttempt,
  Stage,
  type StageCompletedDetail,
  type StageDetachedCompletedDetail,
  skipRemaining,
} from '@stagehooks/core/engine';
import type { EventPublisher, ExecutionLogStore, ReviewStore } from '@stagehooks/core/ports';
import { z } from 'zod';

export interface InterruptedStageDeps {
  logs: Pick<ExecutionLogStore, 'append'>;
  reviews: Pick<ReviewStore, 'close'>;
  events: EventPublisher;
  now?: () => Date;
}

/** What a verdict needs of a stage that never got as far as a claim. */
const StageName = Stage.pick({ jobId: true, hookPoint: true });
/** The review a blocked stage was waiting for, as AwaitReview's input carries it. */
const AwaitedReview = z.object({ reviewId: z.string() });

/**
 * Ends a stage from the last state data its machine had: the hook that was running gets an `error`
 * log, an open review is closed as interrupted, the hooks after it are logged as skipped, and a blocked
 * verdict that says it was interrupted goes out. When the verdict had gone out already (the detached
 * hooks were running), the detached hooks' report goes out instead, saying it was interrupted. Safe to
 * repeat: every log id is deterministic, and a log written before the stop stands.
 */
export async function concludeInterrupted(
  deps: InterruptedStageDeps,
  stateData: unknown,
  executionId: string,
  reason: string,
): Promise<StageCompletedDetail | StageDetachedCompletedDetail | undefined> {
  const data = isJsonObject(stateData) ? stateData : {};
  const stage = Stage.safeParse(data.stage);
  if (!stage.success) return concludeUnclaimed(deps, data, executionId);
  const at = deps.now?.() ?? new Date();
  let run = RunState.safeParse(data.run).data ?? initialRun();
  const review = AwaitedReview.safeParse(data.review);

  if (review.success && run.blocked) {
    await deps.reviews.close(review.data.reviewId, 'interrupted', reason);
  } else if (run.current && !run.blocked) {
    const attempt = { runnerError: { error: 'Local.Interrupted', cause: reason } };
    const hook = run.current;
    run = recordAttempt(run, { stage: stage.data, hook, index: run.index, executionId, attempt, at });
  }
  run = run.verdictSent ? skipRemaining(run, at, `not run: ${reason}`) : skipRemaining(run, at);
  // One conditional put each, not a batch: a log the stage wrote before the stop must not be replaced.
  const drafts = pendingLogDrafts(stage.data, executionId, run);
  await Promise.all(drafts.map(({ id, draft }) => deps.logs.append(draft, id)));
  run = logsWritten(run, executionId);
  if (run.verdictSent) {
    const detail: StageDetachedCompletedDetail = {
      jobId: stage.data.jobId,
      hookPoint: stage.data.hookPoint,
      executionId,
      results: run.detachedResults,
      logsError: null,
      interrupted: true,
    };
    await deps.events.publish([{ detailType: stageDetachedCompletedDetailType, detail }]);
    return detail;
  }
  return publishVerdict(deps, {
    jobId: stage.data.jobId,
    hookPoint: stage.data.hookPoint,
    verdict: 'blocked',
    executionId,
    results: run.results,
    review: run.review,
    logsError: null,
    interrupted: true,
    outputs: run.outputs,
    stage: run.stage,
    patches: run.patches,
  });
}

/**
 * A stage stopped before its claim was through (or on its way to the verdict after a failed claim):
 * no hook ran. A blocked verdict goes out if the event names a job and a hook point, else nothing can.
 */
async function concludeUnclaimed(
  deps: InterruptedStageDeps,
  data: Record<string, unknown>,
  executionId: string,
): Promise<StageCompletedDetail | undefined> {
  const named = StageName.safeParse(data.stage ?? data.detail);
  if (!named.success) return undefined;
  return publishVerdict(deps, {
    ...named.data,
    verdict: 'blocked',
    executionId,
    results: [],
    review: null,
    logsError: null,
    interrupted: true,
    outputs: {},
    stage: null,
    patches: [],
  });
}

async function publishVerdict(
  deps: InterruptedStageDeps,
  detail: StageCompletedDetail,
): Promise<StageCompletedDetail> {
  await deps.events.publish([{ detailType: stageCompletedDetailType, detail }]);
  return detail;
}
