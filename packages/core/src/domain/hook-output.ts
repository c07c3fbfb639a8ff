/**
 * What a hook hands on besides its status: `data` for later hooks and the pipeline, a `patch` of the
 * stage. The bounds keep a stage's whole flow inside Step Functions' 256 KiB state on AWS.
 */
import { z } from 'zod';
import type { HookRunResult } from './hook-result';
import { isJsonObject, JsonObject, jsonBytes, jsonTooDeepAt, MAX_JSON_DEPTH, tooDeepMessage } from './json';
import { mergePatch } from './merge-patch';
import { outputSchemaMismatch } from './output-schema';

/** A hook's `data`, and its `patch`, as JSON in UTF-8. */
export const DATA_LIMIT_BYTES = 8 * 1024;
export const PATCH_LIMIT_BYTES = 8 * 1024;
/** Every passed hook's data and patch in one stage, together. */
export const STAGE_FLOW_LIMIT_BYTES = 64 * 1024;

const SEGMENT_PATH_MAX = 2048;

/** What a passed hook may change of the stage: the segment, and the metadata by RFC 7396 merge patch. */
export const StagePatch = z.strictObject({
  segmentPath: z.string().min(1).max(SEGMENT_PATH_MAX).optional(),
  metadata: JsonObject.optional(),
});
export type StagePatch = z.output<typeof StagePatch>;

/** The part of a stage that patches change. */
export const PatchedStage = z.object({ segmentPath: z.string().nullable(), metadata: JsonObject });
export type PatchedStage = z.output<typeof PatchedStage>;

/** `stage` with `patch` applied. */
export function applyPatch(stage: PatchedStage, patch: StagePatch): PatchedStage {
  return {
    segmentPath: patch.segmentPath ?? stage.segmentPath,
    metadata:
      patch.metadata === undefined
        ? stage.metadata
        : (mergePatch(stage.metadata, patch.metadata) as Record<string, unknown>),
  };
}

/** What one hook adds to its stage's flow, as the stage bound counts it. */
export const flowBytes = (data: unknown, patch: unknown) =>
  (data === undefined ? 0 : jsonBytes(data)) + (patch === undefined ? 0 : jsonBytes(patch));

const kib = (bytes: number) => `${bytes / 1024} KiB`;

/**
 * The result with its `data` and `patch` checked: a passed result whose data is not an object, is over
 * its bound or does not match `outputSchema`, or whose patch is not a stage patch or is over its bound,
 * fails with an error that names the bound or the path. Data that is an object stays on the result
 * whatever it failed, so the log keeps it; a patch stays only when valid (the log records a patch only
 * where it was applied). Checked on any status: a failed hook's data is logged too.
 */
export function checkedOutput(result: HookRunResult, outputSchema: object | undefined): HookRunResult {
  const { data, patch, ...rest } = result;
  if (data === undefined && patch === undefined) return result;
  const problems: string[] = [];
  let keptData: Record<string, unknown> | undefined;
  if (data !== undefined) {
    if (!isJsonObject(data)) {
      problems.push(`data must be a JSON object, not ${kindOf(data)}`);
    } else if (jsonTooDeepAt(data, MAX_JSON_DEPTH) !== null) {
      problems.push(`data ${tooDeepMessage()}`);
    } else {
      keptData = data;
      const bytes = jsonBytes(data);
      if (bytes > DATA_LIMIT_BYTES)
        problems.push(
          `data is ${bytes} bytes as JSON, over the ${kib(DATA_LIMIT_BYTES)} bound on a hook's data`,
        );
      else if (outputSchema !== undefined) {
        const mismatch = outputSchemaMismatch(outputSchema, data);
        if (mismatch !== null) problems.push(`data does not match outputSchema: ${mismatch}`);
      }
    }
  }
  let keptPatch: StagePatch | undefined;
  if (patch !== undefined) {
    const problem = patchProblem(patch);
    if (problem !== null) problems.push(problem);
    else keptPatch = patch as StagePatch;
  }
  const checked: HookRunResult = {
    ...rest,
    ...(keptData !== undefined && { data: keptData }),
    ...(keptPatch !== undefined && { patch: keptPatch }),
  };
  if (problems.length === 0 || result.status !== 'passed') return checked;
  return { ...checked, status: 'failed', errorMessage: problems.join('; ') };
}

function patchProblem(patch: unknown): string | null {
  if (!isJsonObject(patch)) return `patch must be a JSON object, not ${kindOf(patch)}`;
  if (jsonTooDeepAt(patch, MAX_JSON_DEPTH) !== null) return `patch ${tooDeepMessage()}`;
  const parsed = StagePatch.safeParse(patch);
  if (!parsed.success) {
    return parsed.error.issues
      .map((issue) => {
        if (issue.code === 'unrecognized_keys')
          return `patch.${issue.keys.join(', patch.')}: not a patch field (segmentPath, metadata)`;
        return `patch.${issue.path.join('.')}: ${issue.message}`;
      })
      .join('; ');
  }
  const bytes = jsonBytes(patch);
  if (bytes > PATCH_LIMIT_BYTES)
    return `patch is ${bytes} bytes as JSON, over the ${kib(PATCH_LIMIT_BYTES)} bound on a hook's patch`;
  return null;
}

/** The error of a passed hook whose data and patch would take its stage past `STAGE_FLOW_LIMIT_BYTES`. */
export function stageFlowOverMessage(bytes: number) {
  return `the stage's data and patches would be ${bytes} bytes as JSON, over the ${kib(STAGE_FLOW_LIMIT_BYTES)} bound on a stage`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
