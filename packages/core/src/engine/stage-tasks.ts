import type { HookRunResult } from '../domain';
import {
  checkedOutput,
  EventEnvelope,
  type Hook,
  type HookInput,
  isJsonObject,
  StageEventDetail,
  safeParseFields,
  stageBlockedDetailType,
} from '../domain';
import { type FieldIssue, StoreError } from '../errors';
import { CachedResolver } from '../inheritance';
import type {
  EventClaims,
  EventPublisher,
  ExecutionLogStore,
  HookRegistry,
  ReviewStore,
  ScriptRunner,
  WebhookSender,
} from '../ports';
import {
  type Attempt,
  type ClaimOutput,
  type HookTaskArgs,
  initialRun,
  type PlannedHook,
  type RecordExecutionArgs,
  type ReviewSummary,
  type RunHookArgs,
  type RunState,
  type RunStepArgs,
  type Stage,
  type StagePlan,
} from './contracts';
import {
  advance,
  currentHookInput,
  engineError,
  logsDue,
  logsWritten,
  pendingLogDrafts,
  recordAttempt,
  reviewApplied,
  skipRemaining,
  withinPendingBudget,
} from './run-state';
import { stageContextOf } from './stage-context';

export interface StageTaskDeps {
  registry: HookRegistry;
  logs: ExecutionLogStore;
  reviews: ReviewStore;
  claims: EventClaims;
  webhooks: WebhookSender;
  scripts: ScriptRunner;
  events: EventPublisher;
  now?: () => Date;
}

/** What completes the AwaitReview task: the output of SendTaskSuccess for the review's token. */
export interface DecisionOutput {
  decision: 'approve' | 'reject';
  by: string;
  comment: string | null;
}

/**
 * The work of each Task state of the stage machine, independent of Lambda: the Lambda handlers and the
 * local stack's dispatch both call these. The I/O is here (stores, executors, caches); what becomes of
 * the run state is `run-state.ts`'s.
 */
export class StageTasks {
  private readonly now: () => Date;
  /** Hooks by id and revision, filled at resolution: a warm runner skips the registry reads. */
  private readonly hookCache = new Map<string, Hook>();
  private readonly secretCache = new Map<string, string>();
  private readonly resolver: CachedResolver;

  constructor(private readonly deps: StageTaskDeps) {
    this.now = deps.now ?? (() => new Date());
    this.resolver = new CachedResolver(deps.registry);
  }

  async validateAndClaim(event: unknown, executionId: string): Promise<ClaimOutput> {
    const envelope = safeParseFields(EventEnvelope, event);
    if (!envelope.success) return this.reject(event, usableIdOf(event), executionId, envelope.issues);
    const eventId = envelope.data.id;
    const detail = safeParseFields(StageEventDetail, envelope.data.detail);
    if (!detail.success) {
      const reasons = detail.issues.map((i) => ({ ...i, path: `detail.${i.path}` }));
      return this.reject(event, eventId, executionId, reasons);
    }
    const claim = { eventId, executionId, jobId: detail.data.jobId, hookPoint: detail.data.hookPoint };
    if ((await this.deps.claims.claim(claim)) === 'duplicate') {
      return { claim: { outcome: 'duplicate' } };
    }
    return {
      claim: { outcome: 'claimed' },
      stage: { eventId, ...stageContextOf(detail.data) },
      run: initialRun(),
    };
  }

  /**
   * The plan: the effective hooks in order, the inline ones first, then the detached ones, which run
   * after the verdict. Hooks whose condition does not match are skipped from the start (`advance`).
   */
  async resolveEffectiveHooks(stage: Stage, run: RunState, executionId?: string): Promise<RunState> {
    const effective = await this.resolver.resolve(stage);
    const planned = effective.map(({ hook, source }): PlannedHook => {
      this.hookCache.set(cacheKey(hook.id, hook.revision), hook);
      return {
        id: hook.id,
        name: hook.name,
        type: hook.type,
        revision: hook.revision,
        failureMode: hook.failureMode,
        isolation: hook.type === 'webhook' ? null : hook.config.isolation,
        source,
        mode: hook.mode,
        when: hook.when ?? null,
      };
    });
    // A stable partition: each group keeps the effective order (sortOrder, then name).
    const hooks = [
      ...planned.filter((hook) => hook.mode === 'inline'),
      ...planned.filter((hook) => hook.mode === 'detached'),
    ];
    const plan: StagePlan = { hooks, count: hooks.length };
    const resolved: RunState = {
      ...run,
      plan,
      index: 0,
      current: hooks[0] ?? null,
      stage: { segmentPath: stage.segmentPath, metadata: stage.metadata },
    };
    // An older definition passes no execution id: its conditions are then checked as each hook runs.
    return executionId === undefined ? resolved : advance(stage, resolved, executionId, this.now());
  }

  /** Calls the webhook and records the call: one step, so a webhook hook costs one Task state. */
  async runWebhook(args: RunHookArgs): Promise<RunState> {
    const attempt = await this.runHook(args, async (hook, input) => {
      if (hook.type !== 'webhook') throw new Error(`hook ${hook.id} is a ${hook.type} hook, not a webhook`);
      const secret = await this.signingSecret(hook);
      if (!secret) return engineError(this.now(), `webhook ${hook.name} has no signing secret`);
      return this.deps.webhooks.send(hook, input, secret);
    });
    return this.record(args, attempt);
  }

  /** A pooled script: runs it and records it in one step, as RunWebhook does. */
  async runScriptAndRecord(args: RunHookArgs): Promise<RunState> {
    return this.record(args, await this.runScript(args));
  }

  /** A script in a task of its own: the attempt goes back to the machine, RecordExecution records it. */
  async runScript(args: HookTaskArgs): Promise<Attempt> {
    return this.runHook(args, async (hook, input) => {
      if (hook.type === 'webhook') throw new Error(`hook ${hook.id} is a webhook, not a script`);
      return this.deps.scripts.run(hook, input);
    });
  }

  /** Records a script's attempt, or a runner that failed (crashed, timed out) as an `error` execution. */
  async recordExecution(args: RecordExecutionArgs): Promise<RunState> {
    return this.record(args, args.attempt);
  }

  /** Writes the logs still pending (the stage ends or failed with some unwritten). */
  async writeExecutionLogs({ stage, run, executionId }: RunStepArgs): Promise<RunState> {
    await this.writeLogs(stage, executionId, run);
    return logsWritten(run, executionId);
  }

  async flagForReview({ stage, run, executionId }: RunStepArgs): Promise<{ reviewId: string }> {
    // The blocked execution's log is normally written already; if that write failed, it is now.
    await this.writeLogs(stage, executionId, run);
    const hook = run.plan.hooks[run.index - 1];
    const last = run.last;
    if (!hook || !last) throw new Error('FlagForReview: the run has no recorded execution to review');
    // Derived from the blocked execution's log id: a retried FlagForReview finds the same review.
    const reviewId = `review.${last.logId}`;
    await this.deps.reviews.create({
      id: reviewId,
      status: 'open',
      jobId: stage.jobId,
      hookPoint: stage.hookPoint,
      executionId,
      hookId: hook.id,
      hookName: hook.name,
      scopeType: hook.source.scopeType,
      logId: last.logId,
      errorMessage: last.errorMessage,
      taskToken: null,
      decision: null,
      decidedBy: null,
      comment: null,
      createdAt: this.now().toISOString(),
      decidedAt: null,
    });
    await this.deps.events.publish([
      {
        detailType: stageBlockedDetailType,
        detail: {
          jobId: stage.jobId,
          hookPoint: stage.hookPoint,
          reviewId,
          hookId: hook.id,
          name: hook.name,
          logId: last.logId,
          errorMessage: last.errorMessage,
        },
      },
    ]);
    return { reviewId };
  }

  /**
   * Hands the review its task token. A decision that arrived before the token (the admin was quick) is
   * returned, so the caller completes the task at once instead of waiting for a decision already made.
   */
  async awaitReview(reviewId: string, taskToken: string): Promise<DecisionOutput | undefined> {
    const review = await this.deps.reviews.attachToken(reviewId, taskToken);
    if (!review.decision) return undefined;
    // Exactly what SendTaskSuccess would carry: ApplyReviewDecision takes nothing else.
    return { decision: review.decision, by: review.decidedBy ?? 'unknown', comment: review.comment };
  }

  async applyReviewDecision(args: {
    reviewId: string;
    decision: { decision: 'approve' | 'reject' | 'expired'; by: string; comment?: string | null | undefined };
    run: RunState;
    stage?: Stage | undefined;
    executionId?: string | undefined;
  }): Promise<RunState> {
    const { reviewId, decision, run, stage, executionId } = args;
    // The review item records the outcome too, whoever decided: the admin API (already closed), a
    // SendTaskSuccess from elsewhere (still open), or the timeout. A decision that got there first wins.
    const review =
      decision.decision === 'expired'
        ? await this.deps.reviews.close(
            reviewId,
            'expired',
            shortComment(decision.comment) ?? 'no decision in time',
          )
        : await this.deps.reviews
            .decide(reviewId, decision.decision, decision.by, shortComment(decision.comment))
            .catch(async (error: unknown) => {
              const current = await this.deps.reviews.get(reviewId);
              if (current && current.status !== 'open') return current;
              throw error;
            });
    const summary: ReviewSummary = review.decision
      ? { reviewId, decision: review.decision, by: review.decidedBy ?? decision.by, comment: review.comment }
      : { reviewId, decision: 'reject', by: decision.by, comment: shortComment(decision.comment) };
    const moveOn = stage && executionId ? { stage, executionId, at: this.now() } : undefined;
    return reviewApplied(run, summary, moveOn);
  }

  /** The block stands: the hooks after it are logged as skipped, with every log still pending. */
  async skipRemainingHooks({ stage, run, executionId }: RunStepArgs): Promise<RunState> {
    const skipped = skipRemaining(run, this.now());
    // The logs that waited (a blocked hook's, written by FlagForReview) are written now: cited too.
    await this.writeLogs(stage, executionId, skipped);
    return logsWritten(skipped, executionId);
  }

  private async reject(
    event: unknown,
    eventId: string | null,
    executionId: string,
    reasons: FieldIssue[],
  ): Promise<ClaimOutput> {
    await this.deps.claims.recordRejection({ eventId, executionId, reasons, event });
    return { claim: { outcome: 'rejected', reasons } };
  }

  /** The attempt as a result and a pending log; the logs are written when due (`pendingLogLimits`). */
  private async record(args: HookTaskArgs & { run: RunState }, attempt: Attempt): Promise<RunState> {
    const { run, executionId } = args;
    const at = this.now();
    const next = recordAttempt(run, { ...args, attempt, at });
    if (!logsDue(next, at)) return next;
    try {
      await this.writeLogs(args.stage, executionId, next);
      return logsWritten(next, executionId);
    } catch (error) {
      // A fault of this code is not the store's: it fails the step (StageFailed), as before.
      if (!(error instanceof StoreError)) throw error;
      // The hook ran, and a log that cannot be written must neither run it again nor change the verdict:
      // the logs stay pending for the next write (before a review, or WriteExecutionLogs before the
      // verdict, which retries and, failing for good, says so in the verdict). Until then they are in
      // the run state, so in the execution's history, within a bound that keeps that state possible.
      return withinPendingBudget(next);
    }
  }

  /** Writes the pending logs in one batch (a log written again under its id replaces the earlier one). */
  private async writeLogs(stage: Stage, executionId: string, run: RunState) {
    const entries = pendingLogDrafts(stage, executionId, run);
    if (entries.length > 0) await this.deps.logs.appendAll(entries);
  }

  /**
   * Runs the hook at `args.index` on its input (the stage as earlier hooks patched it, their outputs),
   * its data and patch checked against their bounds and the hook's `outputSchema`.
   */
  private async runHook(
    args: HookTaskArgs & { run?: RunState | undefined },
    execute: (hook: Hook, input: HookInput) => Promise<HookRunResult>,
  ): Promise<Attempt> {
    const hook = await this.loadHook(args.hook);
    if (!hook) {
      return {
        result: engineError(this.now(), `hook ${args.hook.name} was deleted before it ran`),
        hookRevision: args.hook.revision,
      };
    }
    const flow = args.run ?? args.flow ?? { stage: null, outputs: {}, verdict: 'passed' as const };
    const input = currentHookInput(args.stage, args.hook, args.index, args.executionId, hook.revision, flow);
    if (!hook.enabled) {
      return {
        result: engineError(this.now(), `hook ${hook.name} was disabled after the stage was planned`),
        hookRevision: hook.revision,
      };
    }
    const result = checkedOutput(await execute(hook, input), hook.outputSchema);
    return { result, hookRevision: hook.revision };
  }

  /** The planned revision when cached; otherwise whatever the registry holds now (it may be newer). */
  private async loadHook(planned: PlannedHook): Promise<Hook | undefined> {
    const cached = this.hookCache.get(cacheKey(planned.id, planned.revision));
    if (cached) return cached;
    const hook = await this.deps.registry.get(planned.id);
    if (hook) this.hookCache.set(cacheKey(hook.id, hook.revision), hook);
    return hook;
  }

  private async signingSecret(hook: Hook): Promise<string | undefined> {
    const key = cacheKey(hook.id, hook.revision);
    const cached = this.secretCache.get(key);
    if (cached) return cached;
    const secret = await this.deps.registry.signingSecret(hook.id);
    if (secret) this.secretCache.set(key, secret);
    return secret;
  }
}

/** A review comment as the review keeps it (a SendTaskFailure cause can be long). */
const shortComment = (comment: string | null | undefined) => (comment ? comment.slice(0, 4096) : null);

const cacheKey = (id: string, revision: number) => `${id}@${revision}`;

/** The event's id if it is one EventBridge would give (the envelope may be refused for another field). */
function usableIdOf(event: unknown): string | null {
  const id = isJsonObject(event) ? event.id : undefined;
  return EventEnvelope.shape.id.safeParse(id).data ?? null;
}
