import { z } from 'zod';
import { HookPoint, JobId, ScopeType, Timestamp } from './vocabulary';

export const ReviewDecision = z.enum(['approve', 'reject']);
export type ReviewDecision = z.infer<typeof ReviewDecision>;

export const reviewStatuses = ['open', 'approved', 'rejected', 'expired', 'interrupted'] as const;
export const ReviewStatus = z.enum(reviewStatuses);
export type ReviewStatus = z.infer<typeof ReviewStatus>;

/** A blocked stage waiting for (or past) an admin's decision. */
export const Review = z.strictObject({
  id: z.string().min(1),
  status: ReviewStatus,
  jobId: JobId,
  hookPoint: HookPoint,
  executionId: z.string().min(1),
  hookId: z.string().min(1),
  hookName: z.string().min(1),
  /** The scope of the hook that blocked: a studio hook's review takes an admin. */
  scopeType: ScopeType,
  logId: z.string().min(1),
  errorMessage: z.string().nullable(),
  /** The state machine's task token while the stage waits; only the engine and the decision route use it. */
  taskToken: z.string().nullable(),
  decision: ReviewDecision.nullable(),
  decidedBy: z.string().min(1).max(256).nullable(),
  comment: z.string().max(4096).nullable(),
  createdAt: Timestamp,
  decidedAt: Timestamp.nullable(),
});
export type Review = z.output<typeof Review>;

/** The body of `POST /reviews/:id/decision`. */
export const ReviewDecisionInput = z.strictObject({
  decision: ReviewDecision,
  comment: z.string().max(4096).optional(),
});
export type ReviewDecisionInput = z.output<typeof ReviewDecisionInput>;
