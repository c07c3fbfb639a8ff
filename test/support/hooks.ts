import { type Hook, HookCreate, type HookCreateInput, HookReplace } from '@stagehooks/core/domain';

type Overrides = Partial<Record<keyof HookCreateInput, unknown>> & Record<string, unknown>;

/** A valid shell hook at studio scope, with the given fields replaced, parsed as the API would. */
export function hookCreate(overrides: Overrides = {}): HookCreate {
  return HookCreate.parse({
    name: 'color_grade',
    type: 'shell',
    hookPoint: 'post_segment',
    scopeType: 'studio',
    config: { script: 'exit 0' },
    ...overrides,
  });
}

/** A replace body built from a stored hook, with changes. */
export function hookReplace(hook: Hook, changes: Overrides = {}): HookReplace {
  const { id: _id, createdAt: _c, createdBy: _b, updatedAt: _u, ...fields } = hook;
  return HookReplace.parse({ ...fields, ...changes });
}
