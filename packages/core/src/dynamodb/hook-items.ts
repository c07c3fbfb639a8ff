import { Hook, HookAuditEntry, type Scope, type ScopeRef } from '../domain';
import { fromItem, withJsonText } from './items';
import { keys } from './keys';

/** A hook's `config`, `when` and `outputSchema` hold keys from outside (env and header names, any JSON): stored as JSON text. */
const HOOK_JSON_FIELDS = ['config', 'when', 'outputSchema'];
/** An audit entry holds whole hooks. */
const AUDIT_JSON_FIELDS = ['before', 'after'];

export const scopeOf = (hook: ScopeRef) => ({ scopeType: hook.scopeType, scopeId: hook.scopeId }) as Scope;

export function hookKey(hook: Hook) {
  return { pk: keys.hook.pk(scopeOf(hook)), sk: keys.hook.sk(hook.hookPoint, hook.name) };
}

/** The hook item, in its scope's partition and in the catalog index. */
export function hookItem(hook: Hook) {
  return withJsonText(
    {
      ...hookKey(hook),
      gsi1pk: keys.hook.gsi1pk(),
      gsi1sk: keys.hook.gsi1sk(hook.hookPoint, scopeOf(hook), hook.name),
      entity: keys.hook.entity,
      ...hook,
    },
    HOOK_JSON_FIELDS,
  );
}

export const hookFromItem = (item: Record<string, unknown>): Hook =>
  fromItem(Hook, item, 'hook', HOOK_JSON_FIELDS);

export function auditItem(entry: HookAuditEntry) {
  return withJsonText(
    {
      pk: keys.hookAudit.pk(entry.entityId),
      sk: keys.hookAudit.sk(entry.at, entry.id),
      entity: keys.hookAudit.entity,
      ...entry,
    },
    AUDIT_JSON_FIELDS,
  );
}

export const auditEntryFromItem = (item: Record<string, unknown>): HookAuditEntry =>
  fromItem(HookAuditEntry, item, 'audit entry', AUDIT_JSON_FIELDS);

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
