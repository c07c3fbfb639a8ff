import type { Hook, Scope } from '../domain';
import { keys } from './keys';

export const scopeOf = (hook: { scopeType: Hook['scopeType']; scopeId: string | null }) =>
  ({ scopeType: hook.scopeType, scopeId: hook.scopeId }) as Scope;

export function hookKey(hook: Hook) {
  return { pk: keys.hook.pk(scopeOf(hook)), sk: keys.hook.sk(hook.hookPoint, hook.name) };
}

/** The hook item, in its scope's partition and in the catalog index. */
export function hookItem(hook: Hook) {
  return {
    ...hookKey(hook),
    gsi1pk: keys.hook.gsi1pk(),
    gsi1sk: keys.hook.gsi1sk(hook.hookPoint, scopeOf(hook), hook.name),
    entity: keys.hook.entity,
    ...hook,
  };
}

/** The item that finds a hook by id. */
export function refItem(hook: Hook) {
  return {
    pk: keys.hookRef.pk(hook.id),
    sk: keys.hookRef.sk,
    entity: keys.hookRef.entity,
    scopeType: hook.scopeType,
    scopeId: hook.scopeId,
    hookPoint: hook.hookPoint,
    name: hook.name,
  };
}
