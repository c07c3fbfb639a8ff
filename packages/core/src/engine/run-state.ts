/**
 * The pure transitions of a stage's run state: what recording an attempt, skipping the remaining hooks
 * and applying a review make of it, when its pending logs are due and what writing them cites. No I/O:
 * `StageTasks` (and the local stack's restart recovery) write what these say is due.
 */
import type { ExecutionLogDraft, FailureMode, HookInput, HookRunResult, Outcome } from '../domain';
import { errorWithoutOutput, jsonBytes } from '../domain';
import { boundText } from '../logs';
import type {
  Attempt,
  PendingLog,
  PlannedHook,
  ReviewSummary,
  RunState,
  Stage,
  StageResult,
} from './contracts';
import { executionLogDraft, failureMessage, hookInputFor } from './log-draft';

/**
 * When recorded executions wait in the run state and when their logs are written. Logs of hooks that
 * follow each other without a wait go out in one request; a log is written before anything that may
 * wait (a review, a Fargate task, the verdict), once it is this old, or when the batch is this large.
 * A result over `entryBytes` is written at once: the state (256 KiB on AWS) only carries small ones.
 */
export const pendingLogLimits = { entries: 25, bytes: 32 * 1024, ageMs: 2_000, entryBytes: 8 * 1024 };

/**
 * Logs that wait because the store refuses them travel in the run state, which Step Functions caps at
 * 256 KiB (past it the execution fails with no verdict). Over this, their captured text is cut to a
 * short head each (`truncated` set): the log keeps what ran, how it ended and the start of its output.
 */
export const PENDING_BUDGET_BYTES = 64 * 1024;
const PENDING_CAPTURE_BYTES = 1024;

/** How a failed execution counts, by the hook's failure mode. */
export function outcomeOf(status: HookRunResult['status'] | 'skipped', failureMode: FailureMode): Outcome {
  if (status === 'passed') return 'continued';
  if (status === 'skipped') return 'ignored';
  return ({ block: 'blocked', warn: 'warned', ignore: 'ignored' } as const)[failureMode];
}

/** A log id per (execution, position): deterministic, so a retried RecordExecution writes the same item. */
export function invocationIdOf(executionId: string, index: number): string {
  const name = executionId.split(':').at(-1) ?? executionId;
  return `${name}.${index}`;
}

/** The input of the hook at `index`: stable per execution and position, so a retried task logs under the same id. */
export function stageHookInput(
  stage: Stage,
  hook: Pick<PlannedHook, 'id' | 'name'>,
  index: number,
  executionId: string,
  revision: number,
): HookInput {
  return hookInputFor(
    stage,
    { id: hook.id, name: hook.name, revision },
    invocationIdOf(executionId, index),
    false,
  );
}

/** A hook the engine could not run (deleted, disabled, no secret, its runner failed): an `error` result. */
export function engineError(now: Date, message: string): HookRunResult {
  return { ...emptyResult(now.toISOString()), errorMessage: message };
}

/** What the recording of one attempt at the hook at `index` needs besides the run. */
interface RecordedAttempt {
  hook: PlannedHook;
  index: number;
  executionId: string;
  attempt: Attempt;
  at: Date;
}

/**
 * The run once an attempt is recorded: its result (citing no log yet), the verdict so far, whether it
 * blocks, and its log pending. Whether that log is due now is `logsDue`'s to say.
 */
export function recordAttempt(
  run: RunState,
  { hook, index, executionId, attempt, at }: RecordedAttempt,
): RunState {
  const { result, hookRevision } = attemptResult(attempt, hook, at);
  const outcome = outcomeOf(result.status, hook.failureMode);
  const entry: PendingLog = {
    index,
    hookRevision,
    result,
    status: result.status,
    outcome,
    recordedAt: at.getTime(),
  };
  return {
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
      logId: invocationIdOf(executionId, index),
      hookId: hook.id,
      name: hook.name,
      errorMessage: boundText(failureMessage(result) ?? '', 1024).text || null,
    },
    pending: [...run.pending, entry],
  };
}

/** A runner that failed (crashed, timed out) is recorded as an `error` execution of the planned revision. */
function attemptResult(
  attempt: Attempt,
  hook: PlannedHook,
  at: Date,
): { result: HookRunResult; hookRevision: number } {
  if (!('runnerError' in attempt)) return attempt;
  const { error, cause } = attempt.runnerError;
  return {
    hookRevision: hook.revision,
    result: engineError(at, `the hook runner failed: ${error}${cause ? `: ${cause}` : ''}`),
  };
}

/** Whether the pending logs are to be written now, just after an attempt was recorded (`pendingLogLimits`). */
export function logsDue(run: RunState, now: Date): boolean {
  const [oldest] = run.pending;
  const latest = run.pending.at(-1);
  if (!oldest || !latest) return false;
  const next = run.current;
  return (
    jsonBytes(latest) > pendingLogLimits.entryBytes ||
    run.blocked ||
    next === null ||
    next.isolation === 'task' ||
    run.pending.length >= pendingLogLimits.entries ||
    now.getTime() - oldest.recordedAt >= pendingLogLimits.ageMs ||
    jsonBytes(run.pending) > pendingLogLimits.bytes
  );
}

/** The run once its pending logs are written: each of their results now cites its log. */
export function logsWritten(run: RunState, executionId: string): RunState {
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

/** The log drafts of the run's pending entries, under their deterministic ids. */
export function pendingLogDrafts(
  stage: Stage,
  executionId: string,
  { plan, pending }: Pick<RunState, 'plan' | 'pending'>,
): Array<{ id: string; draft: ExecutionLogDraft }> {
  return pending.map((entry) => {
    const { index } = entry;
    const hook = plan.hooks[index];
    if (!hook) throw new Error(`a pending log names position ${index}, which the plan does not have`);
    const input = stageHookInput(stage, hook, index, executionId, entry.hookRevision);
    const draft = executionLogDraft(hook, input, entry.result, {
      hookPoint: stage.hookPoint,
      executionId,
      outcome: entry.outcome,
      status: entry.status,
    });
    return { id: input.invocationId, draft };
  });
}

/**
 * The run once the block stands: every hook after it is recorded as skipped, its log pending with the
 * others, so one write (then `logsWritten`) logs and cites them all. The verdict is blocked.
 */
export function skipRemaining(run: RunState, at: Date): RunState {
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
  const results = remaining.map(
    ({ hook }): StageResult => ({
      hookId: hook.id,
      name: hook.name,
      status: 'skipped',
      outcome: 'ignored',
      durationMs: 0,
      logId: null,
    }),
  );
  return {
    ...run,
    index: run.plan.count,
    current: null,
    verdict: 'blocked',
    pending: [...run.pending, ...skipped],
    results: [...run.results, ...results],
  };
}

/** The run once a review is decided: an approval clears the block, anything else makes the verdict blocked. */
export function reviewApplied(run: RunState, review: ReviewSummary): RunState {
  const approved = review.decision === 'approve';
  return { ...run, review, blocked: !approved, verdict: approved ? run.verdict : 'blocked' };
}

/** The run with its pending logs cut, if need be, to fit `PENDING_BUDGET_BYTES` (the store refused them). */
export function withinPendingBudget(run: RunState): RunState {
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

function emptyResult(at: string): HookRunResult {
  return { ...errorWithoutOutput(null), startedAt: at, finishedAt: at, durationMs: 0 };
}
