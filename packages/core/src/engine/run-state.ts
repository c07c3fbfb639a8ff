/**
 * The pure transitions of a stage's run state: what recording an attempt, skipping the remaining hooks
 * and applying a review make of it, when its pending logs are due and what writing them cites. No I/O:
 * `StageTasks` (and the local stack's restart recovery) write what these say is due.
 */
import type {
  ExecutionLogDraft,
  FailureMode,
  HookInput,
  HookRunResult,
  Outcome,
  PatchedStage,
  StageVerdict,
} from '../domain';
import {
  applyPatch,
  errorWithoutOutput,
  flowBytes,
  jsonBytes,
  STAGE_FLOW_LIMIT_BYTES,
  stageFlowOverMessage,
} from '../domain';
import { compilePattern } from '../events/pattern';
import { boundText } from '../logs';
import {
  type Attempt,
  DETACHED_STATUS,
  type HandedOn,
  type PendingLog,
  type PlannedHook,
  type ReviewSummary,
  type RunState,
  type Stage,
  type StageResult,
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

/**
 * The input of the hook whose turn it is: everything handed on so far came before it, so the run's
 * patched stage and outputs are its (a task's job carries just these, not the whole run).
 */
export function currentHookInput(
  stage: Stage,
  hook: Pick<PlannedHook, 'id' | 'name'>,
  index: number,
  executionId: string,
  revision: number,
  flow: HandedOn,
): HookInput {
  return hookInputFor(
    { ...stage, ...(flow.stage ?? {}) },
    { id: hook.id, name: hook.name, revision },
    invocationIdOf(executionId, index),
    false,
    flow.outputs,
    flow.verdict,
  );
}

/** What the hooks before a position handed on: the stage as they patched it, and their outputs. */
type Flow = Pick<RunState, 'plan' | 'outputs' | 'patches' | 'stage' | 'results'>;

/**
 * The input of the hook at `index`: the stage as the hooks before it patched it, with their outputs.
 * Stable per execution and position, so a retried task logs under the same id, and rebuilt from the run
 * (a pending log does not carry its input).
 */
export function stageHookInput(
  stage: Stage,
  hook: Pick<PlannedHook, 'id' | 'name'>,
  index: number,
  executionId: string,
  revision: number,
  flow: Flow,
): HookInput {
  const { patched, outputs } = flowBefore(stage, flow, index);
  return hookInputFor(
    { ...stage, ...patched },
    { id: hook.id, name: hook.name, revision },
    invocationIdOf(executionId, index),
    false,
    outputs,
    verdictBefore(flow, index),
  );
}

/**
 * The verdict as the hook at `index` finds it: `warned` once a hook before it warned (a block ends the
 * stage, or an approval lets it go on with the verdict it had), else `passed`. Detached hooks come after
 * every inline one, so theirs is the verdict the pipeline was sent.
 */
function verdictBefore(flow: Flow, index: number): StageVerdict {
  const before = new Set(flow.plan.hooks.slice(0, index).map((hook) => hook.id));
  return flow.results.some((result) => result.outcome === 'warned' && before.has(result.hookId))
    ? 'warned'
    : 'passed';
}

/** The stage and outputs as the hook at `index` finds them: only what hooks before it handed on. */
function flowBefore(stage: Stage, flow: Flow, index: number) {
  const positions = new Map(flow.plan.hooks.map((hook, position) => [hook.name, position]));
  const before = (name: string) => (positions.get(name) ?? Number.POSITIVE_INFINITY) < index;
  const original: PatchedStage = { segmentPath: stage.segmentPath, metadata: stage.metadata };
  // The usual case, the hook whose turn it is: everything handed on so far came before it.
  if (flow.patches.every((p) => before(p.name)) && Object.keys(flow.outputs).every(before)) {
    return { patched: flow.stage ?? original, outputs: flow.outputs };
  }
  const patched = flow.patches
    .filter((p) => before(p.name))
    .reduce((at, p) => applyPatch(at, p.patch), original);
  const outputs = Object.fromEntries(Object.entries(flow.outputs).filter(([name]) => before(name)));
  return { patched, outputs };
}

/** Compiled conditions by their JSON text: a warm worker compiles each once. */
const conditions = new Map<string, (input: unknown) => boolean>();
const CONDITION_CACHE_ENTRIES = 256;

/** Whether a hook's `when` (an event pattern, checked when the hook was saved) matches its input. */
export function conditionMatches(when: Record<string, unknown>, input: unknown): boolean {
  const key = JSON.stringify(when);
  let matches = conditions.get(key);
  if (!matches) {
    if (conditions.size >= CONDITION_CACHE_ENTRIES) conditions.clear();
    matches = compilePattern(when);
    conditions.set(key, matches);
  }
  return matches(input);
}

/** Why a hook whose condition does not match is not run: its log's error message. */
export const CONDITION_NOT_MET = 'condition not met';

/** A hook the engine could not run (deleted, disabled, no secret, its runner failed): an `error` result. */
export function engineError(now: Date, message: string): HookRunResult {
  return { ...emptyResult(now.toISOString()), errorMessage: message };
}

/** What the recording of one attempt at the hook at `index` needs besides the run. */
interface RecordedAttempt {
  stage: Stage;
  hook: PlannedHook;
  index: number;
  executionId: string;
  attempt: Attempt;
  at: Date;
}

/**
 * The run once an attempt is recorded: its result (citing no log yet), the verdict so far, whether it
 * blocks, what it handed on (a passed hook's data and patch, within the stage's bound), its log pending,
 * and the loop moved on to the next hook to run (`advance`). Whether that log is due now is `logsDue`'s.
 */
export function recordAttempt(
  run: RunState,
  { stage, hook, index, executionId, attempt, at }: RecordedAttempt,
): RunState {
  const recorded = attemptResult(attempt, hook, at);
  const result = withinStageFlow(run, recorded.result);
  const outcome = outcomeOf(result.status, hook.failureMode);
  const passed = result.status === 'passed';
  // A passed hook's data and patch travel once, in `outputs` and `patches`; its pending log takes them
  // from there (`pendingLogDrafts`). A failed hook's stay with its log, which keeps them.
  const { data, patch, ...rest } = result;
  const entry: PendingLog = {
    index,
    hookRevision: recorded.hookRevision,
    result: passed ? rest : result,
    status: result.status,
    outcome,
    recordedAt: at.getTime(),
  };
  const stageResult: StageResult = {
    hookId: hook.id,
    name: hook.name,
    status: result.status,
    outcome,
    durationMs: result.durationMs,
    // Cited once the log is written: a verdict never names a log that is not there.
    logId: null,
  };
  const handedOn = passed ? handOn(stage, run, hook, data, patch) : {};
  const next: RunState = {
    ...run,
    ...handedOn,
    index: index + 1,
    current: run.plan.hooks[index + 1] ?? null,
    ...withResult(run, hook, stageResult),
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
  return advance(stage, next, executionId, at);
}

/**
 * A result in its place: an inline hook's in the verdict's results; a detached hook's (run after the
 * verdict, or skipped) with the detached results, its placeholder staying in the verdict's.
 */
function withResult(run: RunState, hook: PlannedHook, result: StageResult) {
  if (hook.mode === 'detached') return { detachedResults: [...run.detachedResults, result] };
  return { results: [...run.results, result] };
}

/** A passed hook's data in the outputs, its patch applied to the stage and listed. */
function handOn(
  stage: Stage,
  run: RunState,
  hook: PlannedHook,
  data: unknown,
  patch: HookRunResult['patch'],
): Partial<RunState> {
  const handed: Partial<RunState> = {};
  if (data !== undefined) handed.outputs = { ...run.outputs, [hook.name]: data as Record<string, unknown> };
  if (patch !== undefined) {
    const stagePatch = patch as NonNullable<RunState['patches'][number]['patch']>;
    const current = run.stage ?? { segmentPath: stage.segmentPath, metadata: stage.metadata };
    handed.stage = applyPatch(current, stagePatch);
    handed.patches = [...run.patches, { name: hook.name, hookId: hook.id, patch: stagePatch }];
  }
  return handed;
}

/** A passed result that would take the stage's data and patches past their bound fails, naming it. */
function withinStageFlow(run: RunState, result: HookRunResult): HookRunResult {
  if (result.status !== 'passed') return result;
  const adds = flowBytes(result.data, result.patch);
  if (adds === 0) return result;
  const total = stageFlowBytes(run) + adds;
  if (total <= STAGE_FLOW_LIMIT_BYTES) return result;
  return { ...result, status: 'failed', errorMessage: stageFlowOverMessage(total) };
}

/** The stage's data and patches so far, as `STAGE_FLOW_LIMIT_BYTES` counts them. */
function stageFlowBytes(run: Pick<RunState, 'outputs' | 'patches'>): number {
  let bytes = 0;
  for (const data of Object.values(run.outputs)) bytes += jsonBytes(data);
  for (const { patch } of run.patches) bytes += jsonBytes(patch);
  return bytes;
}

/**
 * The run moved on to the next hook to run: hooks whose condition does not match their input are
 * recorded as skipped (their logs pending), and when the loop reaches the detached hooks before the
 * verdict, each gets its placeholder (`status: "detached"`) in the verdict's results. Nothing moves
 * while the stage is blocked.
 */
export function advance(stage: Stage, run: RunState, executionId: string, at: Date): RunState {
  let next = run;
  for (let hook = next.current; hook !== null && !next.blocked; hook = next.current) {
    if (hook.mode === 'detached' && !next.verdictSent) next = withPlaceholders(next);
    if (hook.when === null) return next;
    const input = stageHookInput(stage, hook, next.index, executionId, hook.revision, next);
    if (conditionMatches(hook.when, input)) return next;
    next = recordSkip(next, hook, CONDITION_NOT_MET, at);
  }
  return next;
}

/** The verdict's placeholders for the detached hooks from the current position on, once. */
function withPlaceholders(run: RunState): RunState {
  if (run.results.some((result) => result.status === DETACHED_STATUS)) return run;
  const placeholders = run.plan.hooks.slice(run.index).map(
    (hook): StageResult => ({
      hookId: hook.id,
      name: hook.name,
      status: DETACHED_STATUS,
      outcome: 'continued',
      durationMs: 0,
      logId: null,
    }),
  );
  return { ...run, results: [...run.results, ...placeholders] };
}

/** The pending log of the hook at `index`, skipped because of `reason`. */
function skippedLog(hook: PlannedHook, index: number, reason: string, at: Date): PendingLog {
  return {
    index,
    hookRevision: hook.revision,
    result: { ...emptyResult(at.toISOString()), errorMessage: reason },
    status: 'skipped',
    outcome: 'ignored',
    recordedAt: at.getTime(),
  };
}

/** A skipped hook's line in the verdict (its log id comes when the log is written). */
function skippedResult(hook: PlannedHook): StageResult {
  return {
    hookId: hook.id,
    name: hook.name,
    status: 'skipped',
    outcome: 'ignored',
    durationMs: 0,
    logId: null,
  };
}

/** The current hook recorded as skipped, with `reason` in its pending log, and the loop past it. */
function recordSkip(run: RunState, hook: PlannedHook, reason: string, at: Date): RunState {
  const { index } = run;
  return {
    ...run,
    index: index + 1,
    current: run.plan.hooks[index + 1] ?? null,
    ...withResult(run, hook, skippedResult(hook)),
    pending: [...run.pending, skippedLog(hook, index, reason, at)],
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
    // The verdict is next: it cites every log before it.
    (next.mode === 'detached' && !run.verdictSent) ||
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
  const cite = (result: StageResult) => {
    // A placeholder stays one: the detached hook's own result cites its log.
    const logId =
      result.logId === null && result.status !== DETACHED_STATUS ? written.get(result.hookId) : undefined;
    return logId === undefined ? result : { ...result, logId };
  };
  return {
    ...run,
    results: run.results.map(cite),
    detachedResults: run.detachedResults.map(cite),
    pending: [],
  };
}

/** The log drafts of the run's pending entries, under their deterministic ids. */
export function pendingLogDrafts(
  stage: Stage,
  executionId: string,
  run: Pick<RunState, 'plan' | 'pending' | 'outputs' | 'patches' | 'stage' | 'results'>,
): Array<{ id: string; draft: ExecutionLogDraft }> {
  return run.pending.map((entry) => {
    const { index } = entry;
    const hook = run.plan.hooks[index];
    if (!hook) throw new Error(`a pending log names position ${index}, which the plan does not have`);
    const input = stageHookInput(stage, hook, index, executionId, entry.hookRevision, run);
    // A passed hook's data and patch are in the run, not in its pending entry (`recordAttempt`).
    const result = entry.status === 'passed' ? { ...entry.result, ...handedOnBy(run, hook) } : entry.result;
    const draft = executionLogDraft(hook, input, result, {
      hookPoint: stage.hookPoint,
      executionId,
      outcome: entry.outcome,
      status: entry.status,
    });
    return { id: input.invocationId, draft };
  });
}

/** What a passed hook handed on, as its result carried it. */
function handedOnBy(run: Pick<RunState, 'outputs' | 'patches'>, hook: PlannedHook) {
  const data = Object.hasOwn(run.outputs, hook.name) ? run.outputs[hook.name] : undefined;
  const patch = run.patches.find((applied) => applied.hookId === hook.id)?.patch;
  return { ...(data !== undefined && { data }), ...(patch !== undefined && { patch }) };
}

/**
 * The run once the block stands: every hook after it is recorded as skipped, its log pending with the
 * others, so one write (then `logsWritten`) logs and cites them all. The verdict is blocked. Also how a
 * stage that cannot go on ends (`reason` says why): detached hooks not yet run are skipped too.
 */
export function skipRemaining(
  run: RunState,
  at: Date,
  reason = `not run: the stage was blocked by ${run.last?.name ?? 'an earlier hook'}`,
): RunState {
  const remaining = run.plan.hooks.slice(run.index);
  const skippedIds = new Set(remaining.map((hook) => hook.id));
  const skipped = remaining.map((hook, offset) => skippedLog(hook, run.index + offset, reason, at));
  // Once the verdict is out, what is left is detached and reported after it; before, in the verdict,
  // without the placeholders of the hooks that will not run after all.
  const results = run.verdictSent
    ? run.results
    : [
        ...run.results.filter((r) => !(r.status === DETACHED_STATUS && skippedIds.has(r.hookId))),
        ...remaining.map(skippedResult),
      ];
  const detachedResults = run.verdictSent
    ? [...run.detachedResults, ...remaining.map(skippedResult)]
    : run.detachedResults;
  return {
    ...run,
    index: run.plan.count,
    current: null,
    verdict: run.verdictSent ? run.verdict : 'blocked',
    pending: [...run.pending, ...skipped],
    results,
    detachedResults,
  };
}

/**
 * The run once a review is decided: an approval clears the block and moves on past the hooks whose
 * condition does not match (`advance`, given the stage); anything else makes the verdict blocked.
 */
export function reviewApplied(
  run: RunState,
  review: ReviewSummary,
  moveOn?: { stage: Stage; executionId: string; at: Date },
): RunState {
  const approved = review.decision === 'approve';
  const decided: RunState = {
    ...run,
    review,
    blocked: !approved,
    verdict: approved ? run.verdict : 'blocked',
  };
  return approved && moveOn ? advance(moveOn.stage, decided, moveOn.executionId, moveOn.at) : decided;
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
    if (!cutAny && entry.result.data === undefined && entry.result.patch === undefined) return entry;
    // A failed hook's `data` and `patch` are not kept in its log then (they stay in the captured output
    // they came from); a passed hook's travel in `outputs` and `patches`, not here.
    const { data: _data, patch: _patch, ...kept } = entry.result;
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
