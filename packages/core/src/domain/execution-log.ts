import { z } from 'zod';
import { StagePatch } from './hook-output';
import { JsonObject } from './json';
import { ExecutionStatus, FailureMode, HookPoint, HookType, JobId, Outcome, Timestamp } from './vocabulary';

/** Bytes of UTF-8 kept per captured text field; the rest is cut and `truncated` set. */
export const CAPTURE_LIMIT_BYTES = 64 * 1024;

const logFields = {
  hookId: z.string().min(1),
  hookName: z.string().min(1),
  hookRevision: z.int().min(1),
  hookType: HookType,
  hookPoint: HookPoint,
  jobId: JobId,
  /** The state-machine execution; null for test runs from the console. */
  executionId: z.string().nullable(),
  invocationId: z.string().min(1),
  /** The hook input as sent; a string when it was too large and cut. */
  input: z.unknown(),
  stdout: z.string().nullable(),
  stderr: z.string().nullable(),
  responseStatus: z.int().nullable(),
  responseBody: z.string().nullable(),
  exitCode: z.int().nullable(),
  status: ExecutionStatus,
  errorMessage: z.string().nullable(),
  failureMode: FailureMode,
  outcome: Outcome,
  /** The `data` the hook returned (a JSON object), passed or not; null when none. */
  outputData: JsonObject.nullable()
    .default(null)
    .describe('the data the hook returned (a JSON object, at most 8 KiB), passed or not; null when none'),
  /** The patch of the stage this execution applied: only a passed hook's is; null otherwise. */
  patch: StagePatch.nullable()
    .default(null)
    .describe('the stage patch this execution applied: only a passed hook applies one'),
  durationMs: z.number().min(0),
  startedAt: Timestamp,
  finishedAt: Timestamp,
  test: z.boolean(),
};

/** One execution attempt of one hook, as stored and returned. */
export const ExecutionLog = z.strictObject({
  id: z.string().min(1),
  ...logFields,
  truncated: z.boolean(),
  expiresAt: Timestamp,
});
export type ExecutionLog = z.output<typeof ExecutionLog>;

/** What the engine hands to the log store; the store bounds the text, assigns the id and the expiry. */
export const ExecutionLogDraft = z.strictObject({
  ...logFields,
  /** Set when an executor already cut its capture; the store adds its own cuts. */
  truncated: z.boolean().optional(),
});
export type ExecutionLogDraft = z.output<typeof ExecutionLogDraft>;
