import {
  EventEnvelope,
  type ExecutionLogDraft,
  type FailureMode,
  type Hook,
  type HookInput,
  type Outcome,
  StageEventDetail,
  safeParseFields,
} from '../domain';
import type { HookRunResult, ScriptRunner, WebhookSender } from '../executors';
import { resolveEffectiveHooks } from '../inheritance';
import { boundText, type ExecutionLogStore } from '../logs';
import type { HookRegistry } from '../registry';
import {
  type Attempt,
  type ClaimOutput,
  type HookTaskArgs,
  initialRun,
  PlannedHook,
  type ReviewSummary,
  RunState,
  Stage,
  StagePlan,
  type StageResult,
  type StageVerdictDetail,
} from './contracts';
import { executionLogDraft, hookInputFor } from './log-draft';
import type { EventClaims, EventPublisher, ReviewStore } from './ports';

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

  constructor(private readonly deps: StageTaskDeps) {
    this.now = deps.now ?? (() => new Date());
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

  async resolveEffectiveHooks(stage: Stage): Promise<StagePlan> {
    const effective = await resolveEffectiveHooks(this.deps.registry, stage);
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
    return { hooks, count: hooks.length };
  }

  async runWebhook(args: HookTaskArgs): Promise<Attempt> {
    return this.runHook(args, async (hook, input) => {
      if (hook.type !== 'webhook') throw new Error(`hook ${hook.id} is a ${hook.type} hook, not a webhook`);
      const secret = await this.signingSecret(hook);
      if (!secret) return engineError(this.now(), `webhook ${hook.name} has no signing secret`);
      return this.deps.webhooks.send(hook, input, secret);
    });
  }

  async runScript(args: HookTaskArgs): Promise<Attempt> {
    return this.runHook(args, async (hook, input) => {
      if (hook.type === 'webhook') throw new Error(`hook ${hook.id} is a webhook, not a script`);
      return this.deps.scripts.run(hook, input);
    });
  }

  async recordExecution(args: HookTaskArgs & { attempt: Attempt; run: RunState }): Promise<RunState> {
    const { hook, run } = args;
    const { result, hookRevision } =
      'runnerError' in args.attempt
        ? {
            hookRevision: hook.revision,
            result: engineError(
              this.now(),
              `the hook runner failed: ${args.attempt.runnerError.error}${args.attempt.runnerError.cause ? `: ${args.attempt.runnerError.cause}` : ''}`,
            ),
          }
        : args.attempt;
    // The same input the runner built: same stage, same position, same revision.
    const input = this.hookInput(args, hookRevision);
    const outcome = outcomeOf(result.status, hook.failureMode);
    const log = await this.deps.logs.append(this.draft(args, input, result, outcome), input.invocationId);
    const entry: StageResult = {
      hookId: hook.id,
      name: hook.name,
      status: result.status,
      outcome,
      durationMs: result.durationMs,
      logId: log.id,
    };
    return {
      ...run,
      index: run.index + 1,
      results: [...run.results, entry],
      verdict: outcome === 'warned' && run.verdict === 'passed' ? 'warned' : run.verdict,
      blocked: outcome === 'blocked',
      // Kept short: it travels in the state (256 KiB on AWS); the log holds the whole message.
      last: {
        logId: log.id,
        hookId: hook.id,
        name: hook.name,
        errorMessage: boundText(log.errorMessage ?? '', 1024).text || null,
      },
    };
  }

  async flagForReview(args: HookTaskArgs & { run: RunState }): Promise<{ reviewId: string }> {
    const { stage, hook, run, executionId } = args;
    const last = run.last ?? { logId: invocationIdOf(executionId, args.index), errorMessage: null };
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
        detailType: 'Stage Hooks Blocked',
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

  async skipRemainingHooks(args: {
    stage: Stage;
    plan: StagePlan;
    run: RunState;
    executionId: string;
  }): Promise<RunState> {
    const { stage, plan, executionId } = args;
    let run = args.run;
    for (const [index, hook] of plan.hooks.entries()) {
      if (index < run.index) continue;
      const taskArgs = { stage, hook, index, executionId };
      const input = this.hookInput(taskArgs, hook.revision);
      const at = this.now().toISOString();
      const skipped: HookRunResult = {
        ...emptyResult(at),
        errorMessage: `not run: the stage was blocked by ${run.last?.name ?? 'an earlier hook'}`,
      };
      const log = await this.deps.logs.append(
        this.draft(taskArgs, input, skipped, 'ignored', 'skipped'),
        input.invocationId,
      );
      run = {
        ...run,
        results: [
          ...run.results,
          {
            hookId: hook.id,
            name: hook.name,
            status: 'skipped',
            outcome: 'ignored',
            durationMs: 0,
            logId: log.id,
          },
        ],
      };
    }
    return { ...run, index: plan.count, verdict: 'blocked' };
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
  ): Promise<StageVerdictDetail | undefined> {
    const data = (typeof stateData === 'object' && stateData !== null ? stateData : {}) as Record<
      string,
      unknown
    >;
    const stage = Stage.safeParse(data.stage);
    if (!stage.success) return undefined;
    const plan = StagePlan.safeParse(data.plan);
    let run = RunState.safeParse(data.run).data ?? initialRun();
    const current = PlannedHook.safeParse((data.current as { hook?: unknown } | undefined)?.hook);
    const reviewId = (data.review as { reviewId?: unknown } | undefined)?.reviewId;

    if (typeof reviewId === 'string' && run.blocked) {
      await this.deps.reviews.close(reviewId, 'interrupted', reason);
    } else if (current.success && plan.success && plan.data.hooks[run.index]?.id === current.data.id) {
      run = await this.recordExecution({
        stage: stage.data,
        hook: current.data,
        index: run.index,
        executionId,
        attempt: { runnerError: { error: 'Local.Interrupted', cause: reason } },
        run,
      });
    }
    if (plan.success)
      run = await this.skipRemainingHooks({ stage: stage.data, plan: plan.data, run, executionId });
    const detail: StageVerdictDetail = {
      jobId: stage.data.jobId,
      hookPoint: stage.data.hookPoint,
      verdict: 'blocked',
      executionId,
      results: run.results,
      review: run.review,
      interrupted: true,
    };
    await this.deps.events.publish([{ detailType: 'Stage Hooks Completed', detail }]);
    return detail;
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

  private draft(
    { stage, hook, executionId }: HookTaskArgs,
    input: HookInput,
    result: HookRunResult,
    outcome: Outcome,
    status: ExecutionLogDraft['status'] = result.status,
  ): ExecutionLogDraft {
    return executionLogDraft(hook, input, result, {
      hookPoint: stage.hookPoint,
      executionId,
      outcome,
      status,
    });
  }
}

/** A review comment as the review keeps it (a SendTaskFailure cause can be long). */
const shortComment = (comment: string | null | undefined) => (comment ? comment.slice(0, 4096) : null);

const cacheKey = (id: string, revision: number) => `${id}@${revision}`;

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
