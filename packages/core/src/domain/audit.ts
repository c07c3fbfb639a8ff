import { z } from 'zod';
import { Hook } from './hook';
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
