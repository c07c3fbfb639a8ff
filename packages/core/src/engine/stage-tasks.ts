import type { HookRunResult } from '../domain';
import {
  EventEnvelope,
  type FailureMode,
  type Hook,
  type HookInput,
  type Outcome,
  StageEventDetail,
  safeParseFields,
  stageBlockedDetailType,
  stageCompletedDetailType,
} from '../domain';
import { StoreError } from '../errors';
import { CachedResolver } from '../inheritance';
import { boundText } from '../logs';
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
  type PendingLog,
  type PlannedHook,
  type RecordExecutionArgs,
  type ReviewSummary,
  type RunHookArgs,
  RunState,
  type RunStepArgs,
  Stage,
  type StageCompletedDetail,
  type StagePlan,
} from './contracts';
import { executionLogDraft, failureMessage, hookInputFor } from './log-draft';

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
 * When recorded executions wait in the run state and when their logs are written. Logs of hooks that
 * follow each other without a wait go out in one request; a log is written before anything that may
 * wait (a review, a Fargate task, the verdict), once it is this old, or when the batch is this large.
 * A result over `entryBytes` is written at once: the state (256 KiB on AWS) only carries small ones.
 */
export const pendingLogLimits = { entries: 25, bytes: 32 * 1024, ageMs: 2_000, entryBytes: 8 * 1024 };

/** How a failed execution counts, by the hook's failure mode. */
export function outcomeOf(status: HookRunResult['status'] | 'skipped', failureMode: FailureMode): Outcome {
  if (status === 'passed') return 'continued';
  if (status === 'skipped') return 'ignored';
  return ({ block: 'blocked', warn: 'warned', ignore: 'ignored' } as const)[failureMode];
}

/**
 * The work of each Task state of the stage machine, independent of Lambda: the Lambda handlers and the
 * local stack's dispatch both call these.
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
    const eventId = envelope.success ? envelope.data.id : idOf(event);
    const detail = envelope.success ? safeParseFields(StageEventDetail, envelope.data.detail) : envelope;
    if (!detail.success) {
      const reasons = envelope.success
        ? detail.issues.map((i) => ({ ...i, path: `detail.${i.path}` }))
        : detail.issues;
      await this.deps.claims.recordRejection(eventId, reasons, event);
      return { claim: { outcome: 'rejected', reasons } };
    }
    const claim = { eventId, executionId, jobId: detail.data.jobId, hookPoint: detail.data.hookPoint };
    if ((await this.deps.claims.claim(claim)) === 'duplicate') {
      return { claim: { outcome: 'duplicate' } };
    }
    const { sceneTypeId, segmentPath, ...rest } = detail.data;
    return {
      claim: { outcome: 'claimed' },
      stage: { eventId, ...rest, sceneTypeId: sceneTypeId ?? null, segmentPath: segmentPath ?? null },
      run: initialRun(),
    };
  }

  async resolveEffectiveHooks(stage: Stage, run: RunState): Promise<RunState> {
    const effective = await this.resolver.resolve(stage);
    const hooks = effective.map(({ hook, source }): PlannedHook => {
      this.hookCache.set(cacheKey(hook.id, hook.revision), hook);
      return {
        id: hook.id,
        name: hook.name,
        type: hook.type,
        revision: hook.revision,
        failureMode: hook.failureMode,
        isolation: hook.type === 'webhook' ? null : hook.config.isolation,
        source,
      };
    });
    const plan: StagePlan = { hooks, count: hooks.length };
    return { ...run, plan, index: 0, current: hooks[0] ?? null };
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
  }): Promise<RunState> {
    const { reviewId, decision, run } = args;
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
    const approved = summary.decision === 'approve';
    return { ...run, review: summary, blocked: !approved, verdict: approved ? run.verdict : 'blocked' };
  }

  /** The block stands: the hooks after it are logged as skipped, with every log still pending. */
  async skipRemainingHooks(args: RunStepArgs): Promise<RunState> {
    return this.skipRemaining(args, false);
  }

  private async skipRemaining(
    { stage, run, executionId }: RunStepArgs,
    keepExisting: boolean,
  ): Promise<RunState> {
    const at = this.now();
    const reason = `not run: the stage was blocked by ${run.last?.name ?? 'an earlier hook'}`;
    const remaining = run.plan.hooks
      .slice(run.index)
      .map((hook, offset) => ({ hook, index: run.index + offset }));
    const skipped = remaining.map(
      ({ hook, index }): PendingLog => ({
        index,
        hookRevision: hook.revision,
        result: { ...emptyResult(at.toISOString()), errorMessage: reason },
        status: 'skipped',
        outcome: 'ignored',
        recordedAt: at.getTime(),
      }),
    );
    await this.writeLogs(
      stage,
      executionId,
      { plan: run.plan, pending: [...run.pending, ...skipped] },
      keepExisting,
    );
    // The logs that waited (a blocked hook's, written by FlagForReview) are written now: cited too.
    const written = logsWritten(run, executionId);
    return {
      ...written,
      index: run.plan.count,
      current: null,
      verdict: 'blocked',
      pending: [],
      results: [
        ...written.results,
        ...remaining.map(({ hook, index }) => ({
          hookId: hook.id,
          name: hook.name,
          status: 'skipped' as const,
          outcome: 'ignored' as const,
          durationMs: 0,
          logId: invocationIdOf(executionId, index),
        })),
      ],
    };
  }

  /**
   * Ends a stage whose execution stopped mid-way (the local stack went down). From the last state data
   * the machine had: the hook that was running gets an `error` log, an open review is closed as
   * interrupted, the hooks after it are logged as skipped, and a blocked verdict that says it was
   * interrupted goes out. Safe to repeat: every log id is deterministic.
   */
  async concludeInterrupted(
    stateData: unknown,
    executionId: string,
    reason: string,
  ): Promise<StageCompletedDetail | undefined> {
    const data = (typeof stateData === 'object' && stateData !== null ? stateData : {}) as Record<
      string,
      unknown
    >;
    const stage = Stage.safeParse(data.stage);
    if (!stage.success) return this.concludeUnclaimed(data, executionId);
    let run = RunState.safeParse(data.run).data ?? initialRun();
    const reviewId = (data.review as { reviewId?: unknown } | undefined)?.reviewId;
    const args = { stage: stage.data, executionId };

    if (typeof reviewId === 'string' && run.blocked) {
      await this.deps.reviews.close(reviewId, 'interrupted', reason);
    } else if (run.current && !run.blocked) {
      // The hook that was running: an error, unless its log was written before the stop (it stands).
      run = await this.record(
        { ...args, hook: run.current, index: run.index, run },
        { runnerError: { error: 'Local.Interrupted', cause: reason } },
        true,
      );
    }
    run = await this.skipRemaining({ ...args, run }, true);
    const detail: StageCompletedDetail = {
      jobId: stage.data.jobId,
      hookPoint: stage.data.hookPoint,
      verdict: 'blocked',
      executionId,
      results: run.results,
      review: run.review,
      logsError: null,
      interrupted: true,
    };
    await this.deps.events.publish([{ detailType: stageCompletedDetailType, detail }]);
    return detail;
  }

  /**
   * A stage stopped before its claim was through (or on its way to the verdict after a failed claim):
   * no hook ran. A blocked verdict goes out if the event names a job and a hook point, else nothing can.
   */
  private async concludeUnclaimed(
    data: Record<string, unknown>,
    executionId: string,
  ): Promise<StageCompletedDetail | undefined> {
    const named = StageName.safeParse(data.stage ?? (data.detail as unknown));
    if (!named.success) return undefined;
    const detail: StageCompletedDetail = {
      ...named.data,
      verdict: 'blocked',
      executionId,
      results: [],
      review: null,
      logsError: null,
      interrupted: true,
    };
    await this.deps.events.publish([{ detailType: stageCompletedDetailType, detail }]);
    return detail;
  }

  /** The attempt as a result and a pending log; the logs are written when due (`pendingLogLimits`). */
  private async record(
    args: HookTaskArgs & { run: RunState },
    attempt: Attempt,
    keepExisting = false,
  ): Promise<RunState> {
    const { hook, run, index, executionId } = args;
    const { result, hookRevision } =
      'runnerError' in attempt
        ? {
            hookRevision: hook.revision,
            result: engineError(
              this.now(),
              `the hook runner failed: ${attempt.runnerError.error}${attempt.runnerError.cause ? `: ${attempt.runnerError.cause}` : ''}`,
            ),
          }
        : attempt;
    const outcome = outcomeOf(result.status, hook.failureMode);
    const logId = invocationIdOf(executionId, index);
    const entry: PendingLog = {
      index,
      hookRevision,
      result,
      status: result.status,
      outcome,
      recordedAt: this.now().getTime(),
    };
    const next: RunState = {
      ...run,
      index: index + 1,
      current: run.plan.hooks[index + 1] ?? null,
      results: [
        ...run.results,
        {
          hookId: hook.id,
          name: hook.name,
          status: result.status,
          outcome,
          durationMs: result.durationMs,
          // Cited once the log is written: a verdict never names a log that is not there.
          logId: null,
        },
      ],
      verdict: outcome === 'warned' && run.verdict === 'passed' ? 'warned' : run.verdict,
      blocked: outcome === 'blocked',
      // Kept short: it travels in the state; the log holds the whole message.
      last: {
        logId,
        hookId: hook.id,
        name: hook.name,
        errorMessage: boundText(failureMessage(result) ?? '', 1024).text || null,
      },
      pending: [...run.pending, entry],
    };
    if (!this.logsDue(next, jsonBytes(entry) > pendingLogLimits.entryBytes)) return next;
    try {
      await this.writeLogs(args.stage, executionId, next, keepExisting);
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

  private logsDue(run: RunState, large: boolean): boolean {
    const [oldest] = run.pending;
    if (!oldest) return false;
    const next = run.current;
    return (
      large ||
      run.blocked ||
      next === null ||
      next.isolation === 'task' ||
      run.pending.length >= pendingLogLimits.entries ||
      this.now().getTime() - oldest.recordedAt >= pendingLogLimits.ageMs ||
      jsonBytes(run.pending) > pendingLogLimits.bytes
    );
  }

  /**
   * Writes pending logs in one batch; with `keepExisting` (ending an interrupted stage, where a log
   * written before the stop must not be replaced by an "interrupted" one) one conditional put each.
   */
  private async writeLogs(
    stage: Stage,
    executionId: string,
    { plan, pending }: Pick<RunState, 'plan' | 'pending'>,
    keepExisting = false,
  ): Promise<void> {
    const entries = pending.map((entry) => {
      const { index } = entry;
      const hook = plan.hooks[index];
      if (!hook) throw new Error(`a pending log names position ${index}, which the plan does not have`);
      const input = this.hookInput({ stage, hook, index, executionId }, entry.hookRevision);
      const draft = executionLogDraft(hook, input, entry.result, {
        hookPoint: stage.hookPoint,
        executionId,
        outcome: entry.outcome,
        status: entry.status,
      });
      return { id: input.invocationId, draft };
    });
    if (keepExisting) await Promise.all(entries.map(({ draft, id }) => this.deps.logs.append(draft, id)));
    else if (entries.length > 0) await this.deps.logs.appendAll(entries);
  }

  private async runHook(
    args: HookTaskArgs,
    execute: (hook: Hook, input: HookInput) => Promise<HookRunResult>,
  ): Promise<Attempt> {
    const hook = await this.loadHook(args.hook);
    if (!hook) {
      return {
        result: engineError(this.now(), `hook ${args.hook.name} was deleted before it ran`),
        hookRevision: args.hook.revision,
      };
    }
    const input = this.hookInput(args, hook.revision);
    if (!hook.enabled) {
      return {
        result: engineError(this.now(), `hook ${hook.name} was disabled after the stage was planned`),
        hookRevision: hook.revision,
      };
    }
    return { result: await execute(hook, input), hookRevision: hook.revision };
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

  private hookInput({ stage, hook, index, executionId }: HookTaskArgs, revision: number): HookInput {
    // Stable per execution and position: a retried task records under the same id, not a second log.
    return hookInputFor(
      stage,
      { id: hook.id, name: hook.name, revision },
      invocationIdOf(executionId, index),
      false,
    );
  }
}

/** What a verdict needs of a stage that never got as far as a claim. */
const StageName = Stage.pick({ jobId: true, hookPoint: true });

/** A review comment as the review keeps it (a SendTaskFailure cause can be long). */
const shortComment = (comment: string | null | undefined) => (comment ? comment.slice(0, 4096) : null);

const cacheKey = (id: string, revision: number) => `${id}@${revision}`;
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * Logs that wait because the store refuses them travel in the run state, which Step Functions caps at
 * 256 KiB (past it the execution fails with no verdict). Over this, their captured text is cut to a
 * short head each (`truncated` set): the log keeps what ran, how it ended and the start of its output.
 */
export const PENDING_BUDGET_BYTES = 64 * 1024;
const PENDING_CAPTURE_BYTES = 1024;

function withinPendingBudget(run: RunState): RunState {
  if (jsonBytes(run.pending) <= PENDING_BUDGET_BYTES) return run;
  const pending = run.pending.map((entry) => {
    const cut = (text: string | null) =>
      text === null ? { text, cut: false } : boundText(text, PENDING_CAPTURE_BYTES);
    const stdout = cut(entry.result.stdout);
    const stderr = cut(entry.result.stderr);
    const responseBody = cut(entry.result.responseBody);
    const errorMessage = cut(entry.result.errorMessage);
    const message = entry.result.message === undefined ? undefined : cut(entry.result.message);
    const cutAny = [stdout, stderr, responseBody, errorMessage, message].some((field) => field?.cut);
    if (!cutAny && entry.result.data === undefined) return entry;
    // `data` is not kept in the log (it stays in the captured output it came from).
    const { data: _data, ...kept } = entry.result;
    const result = {
      ...kept,
      stdout: stdout.text,
      stderr: stderr.text,
      responseBody: responseBody.text,
      errorMessage: errorMessage.text,
      ...(message !== undefined && { message: message.text ?? '' }),
      truncated: entry.result.truncated || cutAny,
    };
    return { ...entry, result };
  });
  return { ...run, pending };
}

/** The run once its pending logs are written: each of their results now cites its log. */
function logsWritten(run: RunState, executionId: string): RunState {
  if (run.pending.length === 0) return run;
  // By hook: a plan holds each hook once, and each of its results was recorded with its pending log.
  const written = new Map(
    run.pending.map((entry) => [run.plan.hooks[entry.index]?.id, invocationIdOf(executionId, entry.index)]),
  );
  const results = run.results.map((result) => {
    const logId = result.logId === null ? written.get(result.hookId) : undefined;
    return logId === undefined ? result : { ...result, logId };
  });
  return { ...run, results, pending: [] };
}

/** A log id per (execution, position): deterministic, so a retried RecordExecution writes the same item. */
export function invocationIdOf(executionId: string, index: number): string {
  const name = executionId.split(':').at(-1) ?? executionId;
  return `${name}.${index}`;
}

function idOf(event: unknown): string {
  const id = typeof event === 'object' && event !== null && 'id' in event ? event.id : undefined;
  return typeof id === 'string' && id.length > 0 ? id : 'missing-id';
}

function emptyResult(at: string): HookRunResult {
  return {
    status: 'error',
    exitCode: null,
    stdout: null,
    stderr: null,
    responseStatus: null,
    responseBody: null,
    errorMessage: null,
    truncated: false,
    startedAt: at,
    finishedAt: at,
    durationMs: 0,
  };
}

export function engineError(now: Date, message: string): HookRunResult {
  return { ...emptyResult(now.toISOString()), errorMessage: message };
}
