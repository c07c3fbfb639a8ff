import { type Hook, type HookCreate, type HookReplace, lockFieldsAfter } from '@stagehooks/core/domain';
import { ValidationError } from '@stagehooks/core/errors';
import { lockedAbove, scopeLabel } from '@stagehooks/core/inheritance';
import type { HookRegistry } from '@stagehooks/core/ports';
import type { Identity } from './auth';
import { HttpProblem } from './problem';

/** A locked hook as a refusal names it. */
const lockedHookOf = (hook: Hook) => ({
  id: hook.id,
  name: hook.name,
  scopeType: hook.scopeType,
  scopeId: hook.scopeId,
});

/** A locked gate's review is an admin's too: deciding it lets the stage past the gate or not. */
export function authorizeLockedReview(identity: Identity, gate: Hook | undefined) {
  if (identity.role === 'admin' || !gate?.locked) return;
  throw new HttpProblem(
    403,
    `${gate.name} at ${scopeLabel(gate)} (hook ${gate.id}) is locked: only an admin may decide its reviews`,
    { lockedHook: lockedHookOf(gate) },
  );
}

/** A locked hook, or one that overrides a lock, is an admin's: only an admin changes or deletes it. */
export function authorizeLockedChange(identity: Identity, current: Hook) {
  if (identity.role === 'admin') return;
  if (current.locked) {
    throw new HttpProblem(
      403,
      `${current.name} at ${scopeLabel(current)} (hook ${current.id}) is locked: only an admin may change it`,
      { lockedHook: lockedHookOf(current) },
    );
  }
  if (current.lockOverride) {
    throw new HttpProblem(
      403,
      `${current.name} at ${scopeLabel(current)} (hook ${current.id}) overrides a locked hook: only an admin may change it`,
    );
  }
}

/**
 * The lock rules of a create or replace. Only admins set or clear `locked` and `lockOverride`, or
 * save a hook below a locked one of the same name (403 for anyone else, naming the locked hook); an
 * admin who does says so with `lockOverride: true`. The engine applies the same rule when it resolves
 * (core inheritance), so a lock added after an override still holds.
 */
export async function authorizeLocks(
  identity: Identity,
  registry: Pick<HookRegistry, 'hooksAt'>,
  input: HookCreate | HookReplace,
  current?: Hook,
) {
  const next = { ...input, ...lockFieldsAfter(input, current) };
  const admin = identity.role === 'admin';
  if (current) authorizeLockedChange(identity, current);
  if (!admin) {
    for (const field of ['locked', 'lockOverride'] as const) {
      if (next[field] !== (current?.[field] ?? false)) {
        throw new HttpProblem(403, `${identity.actor} may not set or clear ${field}: that needs an admin`);
      }
    }
  }
  const [lock] = await lockedAbove(registry, next);
  if (!lock) return;
  const named = `${lock.name} at ${scopeLabel(lock)} (hook ${lock.id})`;
  if (!admin) {
    throw new HttpProblem(
      403,
      `${named} is locked: ${identity.actor} may not override or mask it at ${next.scopeType}; only an admin may`,
      { lockedHook: lockedHookOf(lock) },
    );
  }
  if (!next.lockOverride) {
    throw new ValidationError('hook', [
      { path: 'lockOverride', message: `must be true to override or mask ${named}, which is locked` },
    ]);
  }
}
