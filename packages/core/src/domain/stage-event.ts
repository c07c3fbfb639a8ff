import { z } from 'zod';
import { boundedJsonObject, JsonObject, recordOfOwnKeys } from './json';
import { HookPoint, JobId, ScopeId, StageVerdict } from './vocabulary';

/** Both travel in the state machine's state (256 KiB on AWS) with each hook's result. */
export const CONTEXT_LIMIT_BYTES = 32 * 1024;
/** Kept exactly as sent (every key, `__proto__` and `constructor` too), within the depth and size bounds. */
const BoundedJsonObject = boundedJsonObject(CONTEXT_LIMIT_BYTES);

/** `detail` of the pipeline's "Stage Reached" event: the contract between the pipeline and stagehooks. */
export const StageEventDetail = z.strictObject({
  hookPoint: HookPoint,
  jobId: JobId,
  projectId: ScopeId,
  sceneTypeId: ScopeId.nullable().optional(),
  segmentPath: z.string().max(2048).optional(),
  metadata: BoundedJsonObject.default({}),
  sceneContext: BoundedJsonObject.default({}),
});
export type StageEventDetail = z.output<typeof StageEventDetail>;

/** What every hook receives: scripts on stdin and in STAGEHOOKS_INPUT_FILE, webhooks as the request body. */
export const HookInput = z.strictObject({
  invocationId: z.string().min(1),
  hookPoint: HookPoint,
  jobId: JobId,
  projectId: ScopeId,
  sceneTypeId: ScopeId.nullable(),
  segmentPath: z.string().max(2048).nullable(),
  metadata: JsonObject,
  sceneContext: JsonObject,
  hook: z.strictObject({ id: z.string().min(1), name: z.string().min(1), revision: z.int().min(1) }),
  attempt: z.int().min(1),
  test: z.boolean(),
  /** The `data` of every earlier hook of the stage that passed and returned some, by hook name. */
  outputs: recordOfOwnKeys(z.string(), JsonObject).default({}),
  /**
   * The stage's verdict as it stands when the hook's turn comes: `warned` once an earlier hook warned;
   * for a detached hook, the verdict the pipeline was sent.
   */
  verdict: StageVerdict.default('passed'),
});
export type HookInput = z.output<typeof HookInput>;
