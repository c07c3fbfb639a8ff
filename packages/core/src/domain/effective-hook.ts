import { z } from 'zod';
import { Hook } from './hook';
import { ScopeRef } from './vocabulary';

/** A same-name hook at a broader scope that an effective hook replaces. */
export const OverriddenHook = ScopeRef.extend({ hookId: z.string(), locked: z.boolean() });
export type OverriddenHook = z.output<typeof OverriddenHook>;

/** A narrower hook kept out of the effective set because a broader one of its name is locked. */
export const RefusedOverride = ScopeRef.extend({
  hookId: z.string(),
  enabled: z.boolean(),
  /** The locked hook it would have overridden or masked: the nearest locked one above it. */
  lockedHookId: z.string(),
  reason: z.string(),
}).describe('a narrower hook of the same name kept out because this one (or one above) is locked');
export type RefusedOverride = z.output<typeof RefusedOverride>;

/** One hook of an effective set: where it comes from and what it overrides (DESIGN.md, "Inheritance"). */
export const EffectiveHook = z.object({
  hook: Hook,
  source: ScopeRef,
  /** True when the hook is defined above the scope asked about. */
  inherited: z.boolean(),
  /** Same-name hooks at broader scopes that this one replaces, nearest first; `locked` ones only by an admin's lockOverride. */
  overrides: z.array(OverriddenHook),
  /** Same-name hooks at narrower scopes that would override (or, disabled, mask) this one but may not. */
  refused: z.array(RefusedOverride),
});
export type EffectiveHook = z.output<typeof EffectiveHook>;
