import { type Hook, HookCreate, HookReplace, safeParseFields } from '@stagehooks/core/domain';
import { type FieldIssue, ValidationError } from '@stagehooks/core/errors';
import type { HookRegistry } from '@stagehooks/core/ports';

/**
 * A declarative registry file: `{ "hooks": [ ... ] }` or a bare array, each entry a hook as POST /hooks
 * takes it, checked the same way (`when`, `mode` and `outputSchema` too), its issues named by entry.
 */
export function parseHooksFile(content: string, source = 'hooks file'): HookCreate[] {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (error) {
    throw new ValidationError(source, [{ path: '', message: `is not JSON: ${(error as Error).message}` }]);
  }
  const list = Array.isArray(json) ? json : (json as { hooks?: unknown } | null)?.hooks;
  if (!Array.isArray(list)) {
    throw new ValidationError(source, [{ path: 'hooks', message: 'must be an array of hooks' }]);
  }
  const issues: FieldIssue[] = [];
  const hooks: HookCreate[] = [];
  const seen = new Map<string, number>();
  list.forEach((entry, index) => {
    const parsed = safeParseFields(HookCreate, entry);
    if (!parsed.success) {
      issues.push(
        ...parsed.issues.map((i) => ({
          path: `hooks.${index}${i.path ? `.${i.path}` : ''}`,
          message: i.message,
        })),
      );
      return;
    }
    const key = identity(parsed.data);
    const first = seen.get(key);
    if (first !== undefined)
      issues.push({
        path: `hooks.${index}.name`,
        message: `repeats hooks.${first} (same name, scope and hook point)`,
      });
    seen.set(key, index);
    hooks.push(parsed.data);
  });
  if (issues.length > 0) throw new ValidationError(source, issues);
  return hooks;
}

const identity = (hook: Pick<Hook, 'scopeType' | 'scopeId' | 'hookPoint' | 'name'>) =>
  `${hook.scopeType}/${hook.scopeId ?? '-'}/${hook.hookPoint}/${hook.name}`;

export interface ApplyResult {
  hook: Hook;
  action: 'created' | 'updated' | 'unchanged';
  /** Only for a webhook this apply created a secret for: shown once. */
  signingSecret?: string;
}

/**
 * What an apply compares to tell a changed hook from one that matches: its writable fields, the config
 * with sorted keys, `when`, `outputSchema` and a webhook's `config.bodyTemplate` as written (their key
 * order is kept as stored, and a template's is the order of the body it sends, so a file that only
 * reorders them updates the hook and it reads back as the file says).
 */
const writable = (hook: HookCreate | Hook) => {
  const { config, ...rest } = hook as Record<string, unknown> & { config: Record<string, unknown> };
  const { signingSecret: _secret, bodyTemplate, ...storedConfig } = config;
  const fields = Object.fromEntries(
    [
      'name',
      'description',
      'type',
      'hookPoint',
      'scopeType',
      'scopeId',
      'failureMode',
      'sortOrder',
      'enabled',
      'locked',
      'lockOverride',
      'mode',
      'when',
      'outputSchema',
    ].map((k) => [k, rest[k]]),
  );
  return JSON.stringify({ ...fields, bodyTemplate, config: sortKeys(storedConfig) });
};

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

/**
 * Creates or updates each hook by name, scope and hook point; a hook that already matches is left
 * alone (no new revision), so applying the same file twice changes nothing.
 */
export async function applyHooks(
  registry: HookRegistry,
  hooks: HookCreate[],
  actor: string,
): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  for (const hook of hooks) {
    const scope =
      hook.scopeType === 'studio'
        ? { scopeType: 'studio' as const, scopeId: null }
        : { scopeType: hook.scopeType, scopeId: hook.scopeId as string };
    const existing = (await registry.hooksAt(scope, hook.hookPoint)).find((h) => h.name === hook.name);
    if (!existing) {
      const created = await registry.create(hook, actor);
      results.push({ ...created, action: 'created' });
      continue;
    }
    const givesSecret =
      hook.type === 'webhook' && 'signingSecret' in hook.config && hook.config.signingSecret !== undefined;
    if (!givesSecret && writable(hook) === writable(existing)) {
      results.push({ hook: existing, action: 'unchanged' });
      continue;
    }
    const replaced = await registry.replace(
      existing.id,
      HookReplace.parse({ ...hook, revision: existing.revision }),
      actor,
    );
    results.push({ ...replaced, action: 'updated' });
  }
  return results;
}
