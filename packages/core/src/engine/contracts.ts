/**
 * The JSON that flows between the stage state machine's states. Every handler parses its input with
 * these schemas: the same shapes on AWS (Lambda payloads) and locally (in-process calls). Missing
 * fields and wrong types fail the task (`StageTask.InvalidInput`); keys a schema does not know are
 * dropped rather than refused, so a definition one version ahead (mid-deploy) does not fail a stage,
 * and the parse, which runs on every hook over the whole run state, stays cheap.
 */
import { z } from 'zod';
import {
  ExecutionStatus,
  FailureMode,
  HookMode,
  HookPoint,
  HookRunResult,
  HookType,
  JobId,
  JsonObject,
  Outcome,
  PatchedStage,
  ReviewDecision,
  ScopeId,
  ScopeRef,
  StagePatch,
  StageVerdict,
} from '../domain';

/** The validated stage event, as the rest of the machine sees it. */
export const Stage = z.object({
  eventId: z.string().min(1),
  hookPoint: HookPoint,
  jobId: JobId,
  projectId: ScopeId,
  sceneTypeId: ScopeId.nullable(),
  segmentPath: z.string().nullable(),
  metadata: JsonObject,
  sceneContext: JsonObject,
});
export type Stage = z.output<typeof Stage>;

/** One entry of the plan: just enough to route and record; executors load the hook by id and revision. */
export const PlannedHook = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  type: HookType,
  revision: z.int().min(1),
  failureMode: FailureMode,
  /** Scripts only; null for webhooks. */
  isolation: z.enum(['pool', 'task']).nullable(),
  source: ScopeRef,
  /** Absent in a run planned before data flow existed: inline. */
  mode: HookMode.default('inline'),
  /** The hook's condition (an event pattern on its input); null: it always runs. */
  when: JsonObject.nullable().default(null),
});
export type PlannedHook = z.output<typeof PlannedHook>;

export const StagePlan = z.object({ hooks: z.array(PlannedHook), count: z.int().min(0) });
export type StagePlan = z.output<typeof StagePlan>;

/** A detached hook in the verdict: it runs after it; its result comes with "Stage Hooks Detached Completed". */
export const DETACHED_STATUS = 'detached';

export const StageResult = z.object({
  hookId: z.string(),
  name: z.string(),
  status: z.union([ExecutionStatus, z.literal(DETACHED_STATUS)]),
  outcome: Outcome,
  durationMs: z.number().min(0),
  /** The execution log's id once the log is written; null while it is not (see `RunState.logsError`). */
  logId: z.string().nullable(),
});
export type StageResult = z.output<typeof StageResult>;

export const ReviewSummary = z.object({
  reviewId: z.string(),
  decision: ReviewDecision,
  by: z.string(),
  comment: z.string().nullable(),
});
export type ReviewSummary = z.output<typeof ReviewSummary>;

/**
 * A recorded execution whose log is not written yet. The logs of hooks that run one after another
 * without a wait are written together; until then they travel in the run state (which Step Functions
 * keeps). Neither the hook nor its input is kept: both follow from the plan, the stage and the position.
 */
export const PendingLog = z.object({
  /** The position in the plan: the hook is `plan.hooks[index]`. */
  index: z.int().min(0),
  hookRevision: z.int().min(1),
  result: HookRunResult,
  status: ExecutionStatus,
  outcome: Outcome,
  /** When it was recorded (ms since the epoch): a log waits a few seconds at most. */
  recordedAt: z.number(),
});
export type PendingLog = z.output<typeof PendingLog>;

/**
 * The verdict's word that some logs could not be written: those results have `logId: null`, and their
 * logs are in the execution's history (`run.pending` of the state that emits the verdict).
 */
export const LogsError = z.object({
  message: z.string(),
  /** The error that ended the last write, as Step Functions caught it: `{ Error, Cause }`. */
  failure: z.record(z.string(), z.unknown()),
});
export type LogsError = z.output<typeof LogsError>;

/** A patch that a passed hook applied to the stage, in the order they were applied. */
export const AppliedPatch = z.object({ name: z.string(), hookId: z.string(), patch: StagePatch });
export type AppliedPatch = z.output<typeof AppliedPatch>;

/** The loop's state: the plan, where it is, what ran, and the verdict so far. */
export const RunState = z.object({
  plan: StagePlan,
  index: z.int().min(0),
  /** The hook at `index`, the next to run; null when none is left. */
  current: PlannedHook.nullable(),
  results: z.array(StageResult),
  verdict: StageVerdict,
  /** A block hook failed and no decision has cleared it yet. */
  blocked: z.boolean(),
  review: ReviewSummary.nullable(),
  /** The last recorded execution, for the review that a block opens. */
  last: z
    .object({
      logId: z.string(),
      hookId: z.string(),
      name: z.string(),
      errorMessage: z.string().nullable(),
    })
    .nullable(),
  /** Recorded executions whose logs are still to be written, oldest first. */
  pending: z.array(PendingLog),
  /** Why the logs still pending could not be written, when the last write before the verdict failed. */
  /** Absent in a run started before it existed (an execution that outlives a deploy): read as null. */
  logsError: LogsError.nullable().optional(),
  /**
   * What passed hooks handed on: `outputs` by hook name, the stage's `segmentPath` and `metadata` as
   * patched (null until the plan is made), the patches in order. Defaults read a run started before
   * data flow existed.
   */
  outputs: z.record(z.string(), JsonObject).default({}),
  stage: PatchedStage.nullable().default(null),
  patches: z.array(AppliedPatch).default([]),
  /** "Stage Hooks Completed" has gone out; only detached hooks run after that. */
  verdictSent: z.boolean().default(false),
  /** The results of detached hooks, run (or skipped) after the verdict, for "Stage Hooks Detached Completed". */
  detachedResults: z.array(StageResult).default([]),
});
export type RunState = z.output<typeof RunState>;

export const initialRun = (): RunState => ({
  plan: { hooks: [], count: 0 },
  index: 0,
  current: null,
  results: [],
  verdict: 'passed',
  blocked: false,
  review: null,
  last: null,
  pending: [],
  logsError: null,
  outputs: {},
  stage: null,
  patches: [],
  verdictSent: false,
  detachedResults: [],
});

export const ClaimOutput = z.object({
  claim: z.object({
    outcome: z.enum(['claimed', 'duplicate', 'rejected']),
    reasons: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
  stage: Stage.optional(),
  run: RunState.optional(),
});
export type ClaimOutput = z.output<typeof ClaimOutput>;

export const ValidateAndClaimArgs = z.object({ event: z.unknown(), executionId: z.string().min(1) });
/** `executionId` names the inputs of hooks whose condition is checked at once (absent from older definitions). */
export const ResolveEffectiveHooksArgs = z.object({
  stage: Stage,
  run: RunState,
  executionId: z.string().min(1).optional(),
});

/** What the hooks before the current one handed on: its input is the stage so patched, with these outputs. */
export const HandedOn = z.object({
  stage: PatchedStage.nullable().default(null),
  outputs: z.record(z.string(), JsonObject).default({}),
  /** The verdict so far (absent in an older definition's job: passed). */
  verdict: StageVerdict.default('passed'),
});
export type HandedOn = z.output<typeof HandedOn>;

/** What a script runner receives for a Fargate task of its own (RunScriptInTask). */
export const HookTaskArgs = z.object({
  stage: Stage,
  hook: PlannedHook,
  index: z.int().min(0),
  executionId: z.string().min(1),
  /** What the hooks before it handed on (absent: nothing, as in an older definition's job). */
  flow: HandedOn.optional(),
});
export type HookTaskArgs = z.output<typeof HookTaskArgs>;

/**
 * One run of one hook, or the runner's own failure as the state machine caught it. The hook input is
 * not carried: RecordExecution rebuilds it (it is deterministic), which keeps the state small.
 */
export const Attempt = z.union([
  z.object({ result: HookRunResult, hookRevision: z.int().min(1) }),
  z.object({ runnerError: z.object({ error: z.string(), cause: z.string().nullable() }) }),
]);
export type Attempt = z.output<typeof Attempt>;

/** What a step that runs a hook and records it receives: RunWebhook, and a pooled script's job. */
export const RunHookArgs = HookTaskArgs.extend({ run: RunState });
export type RunHookArgs = z.output<typeof RunHookArgs>;
export const RecordExecutionArgs = HookTaskArgs.extend({ attempt: Attempt, run: RunState });
export type RecordExecutionArgs = z.output<typeof RecordExecutionArgs>;
/** What a step that pauses or ends the loop needs (FlagForReview, SkipRemainingHooks, WriteExecutionLogs). */
export const RunStepArgs = z.object({ stage: Stage, run: RunState, executionId: z.string().min(1) });
export type RunStepArgs = z.output<typeof RunStepArgs>;
export const AwaitReviewArgs = z.object({ reviewId: z.string().min(1), taskToken: z.string().min(1) });
export const ApplyReviewDecisionArgs = z.object({
  reviewId: z.string().min(1),
  decision: z.object({
    decision: z.enum(['approve', 'reject', 'expired']),
    by: z.string().min(1),
    comment: z.string().nullable().optional(),
  }),
  run: RunState,
  /** To check the conditions of the hooks after an approved one (absent from older definitions). */
  stage: Stage.optional(),
  executionId: z.string().min(1).optional(),
});

/** The detail of "Stage Hooks Completed". */
export const StageCompletedDetail = z.strictObject({
  jobId: JobId,
  hookPoint: HookPoint,
  verdict: StageVerdict,
  executionId: z.string(),
  results: z.array(StageResult),
  review: ReviewSummary.nullable(),
  /** Set (and not null) when some logs could not be written: the results without a `logId`. */
  logsError: LogsError.nullable().optional(),
  /** Set when the local stack stopped mid-stage and the stage was ended on restart. */
  interrupted: z.boolean().optional(),
  /** The data of every passed inline hook, by name. */
  outputs: z.record(z.string(), JsonObject),
  /** The stage's segmentPath and metadata after every patch (null when the stage never got a plan). */
  stage: PatchedStage.nullable(),
  patches: z.array(AppliedPatch),
});
export type StageCompletedDetail = z.output<typeof StageCompletedDetail>;

/** The detail of "Stage Hooks Detached Completed": the detached hooks' results, once they are all done. */
export const StageDetachedCompletedDetail = z.strictObject({
  jobId: JobId,
  hookPoint: HookPoint,
  executionId: z.string(),
  results: z.array(StageResult),
  logsError: LogsError.nullable().optional(),
  interrupted: z.boolean().optional(),
});
export type StageDetachedCompletedDetail = z.output<typeof StageDetachedCompletedDetail>;
