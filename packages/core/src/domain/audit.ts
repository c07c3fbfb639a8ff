import { z } from 'zod';
import { Hook } from './hook';
import { Review } from './review';
import { Timestamp } from './vocabulary';

/** Who did something: a user from the JWT or the local token, or the engine itself. */
export const Actor = z.string().min(1).max(256);

/** One change to a hook, written in the same transaction as the change. */
export const HookAuditEntry = z.strictObject({
  id: z.string().min(1),
  entityType: z.literal('hook'),
  entityId: z.string().min(1),
  action: z.enum(['created', 'replaced', 'deleted']),
  actor: Actor,
  at: Timestamp,
  before: Hook.nullable(),
  after: Hook.nullable(),
});
export type HookAuditEntry = z.output<typeof HookAuditEntry>;

/** A decision on a review, written in the same transaction as the decision. */
export const ReviewAuditEntry = z.strictObject({
  id: z.string().min(1),
  entityType: z.literal('review'),
  entityId: z.string().min(1),
  action: z.literal('decided'),
  actor: Actor,
  at: Timestamp,
  before: Review.omit({ taskToken: true }),
  after: Review.omit({ taskToken: true }),
});
export type ReviewAuditEntry = z.output<typeof ReviewAuditEntry>;
