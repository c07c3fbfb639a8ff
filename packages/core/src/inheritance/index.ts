import {
  type EffectiveHook,
  type Hook,
  type HookPoint,
  type OverriddenHook,
  type RefusedOverride,
  type Scope,
  type ScopeRef,
  scopeTypes,
} from '../domain';
import type { HookRegistry } from '../ports';

export interface ResolveRequest {
  hookPoint: HookPoint;
  projectId?: string | null | undefined;
  /** Only used with a project: scene-type hooks override project hooks. */
  sceneTypeId?: string | null | undefined;
}

/** The scopes that apply to a request, broadest first: studio, then project, then scene type. */
export function scopeChain({ projectId, sceneTypeId }: Omit<ResolveRequest, 'hookPoint'>): Scope[] {
  const chain: Scope[] = [{ scopeType: 'studio', scopeId: null }];
  if (projectId) chain.push({ scopeType: 'project', scopeId: projectId });
  if (sceneTypeId) chain.push({ scopeType: 'scene_type', scopeId: sceneTypeId });
  return chain;
}

/**
 * Merges the hooks of each level (broadest first) into the effective set: a hook overrides the
 * same-named hooks above it, a disabled one masks them, and disabled hooks never run. While a hook
 * above is locked, only a hook with `lockOverride` (which only an admin can set) replaces it; any
 * other is refused and the locked one stays in force. This holds whatever order things were saved in:
 * an override saved before the lock is refused as well.
 */
export function mergeLevels(levels: Array<{ scope: Scope; hooks: Hook[] }>): EffectiveHook[] {
  const requested = levels.at(-1)?.scope.scopeType ?? 'studio';
  const byName = new Map<
    string,
    {
      winner: Hook;
      source: Scope;
      overridden: OverriddenHook[];
      /** The nearest locked hook among the winner and what it overrode. */
      lock: Hook | undefined;
      refused: RefusedOverride[];
    }
  >();
  for (const { scope, hooks } of levels) {
    for (const hook of hooks) {
      const previous = byName.get(hook.name);
      if (previous?.lock && !hook.lockOverride) {
        previous.refused.push(refusal(hook, scope, previous.lock));
        continue;
      }
      const overridden = previous
        ? [
            {
              scopeType: previous.source.scopeType,
              scopeId: previous.source.scopeId,
              hookId: previous.winner.id,
              locked: previous.winner.locked,
            },
            ...previous.overridden,
          ]
        : [];
      byName.set(hook.name, {
        winner: hook,
        source: scope,
        overridden,
        lock: hook.locked ? hook : previous?.lock,
        refused: previous?.refused ?? [],
      });
    }
  }
  return [...byName.values()]
    .filter(({ winner }) => winner.enabled)
    .map(({ winner, source, overridden, refused }) => ({
      hook: winner,
      source: { scopeType: source.scopeType, scopeId: source.scopeId },
      inherited: scopeTypes.indexOf(source.scopeType) < scopeTypes.indexOf(requested),
      overrides: overridden,
      refused,
    }))
    .sort((a, b) => a.hook.sortOrder - b.hook.sortOrder || compareNames(a.hook.name, b.hook.name));
}

/** `studio`, `project p1`: a scope as messages name it. */
export const scopeLabel = (scope: ScopeRef) =>
  scope.scopeId === null ? scope.scopeType : `${scope.scopeType} ${scope.scopeId}`;

function refusal(hook: Hook, scope: Scope, lock: Hook): RefusedOverride {
  const verb = hook.enabled ? 'override' : 'mask';
  return {
    scopeType: scope.scopeType,
    scopeId: scope.scopeId,
    hookId: hook.id,
    enabled: hook.enabled,
    lockedHookId: lock.id,
    reason: `${lock.name} at ${scopeLabel(lock)} (hook ${lock.id}) is locked: only a hook with lockOverride, set by an admin, may ${verb} it`,
  };
}

/**
 * The locked hooks a hook at this place would override or mask, among those the registry can tell:
 * the studio's. A scene type belongs to no one project, so project locks hold against scene-type
 * hooks when a stage resolves (mergeLevels), not when they are saved.
 */
export async function lockedAbove(
  registry: Pick<HookRegistry, 'hooksAt'>,
  hook: Pick<Hook, 'scopeType' | 'hookPoint' | 'name'>,
): Promise<Hook[]> {
  if (hook.scopeType === 'studio') return [];
  const studio = await registry.hooksAt({ scopeType: 'studio', scopeId: null }, hook.hookPoint);
  return studio.filter((h) => h.name === hook.name && h.locked);
}

const compareNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Effective hooks at one hook point: one registry query per scope level, in parallel. */
export async function resolveEffectiveHooks(
  registry: Pick<HookRegistry, 'hooksAt'>,
  request: ResolveRequest,
): Promise<EffectiveHook[]> {
  const chain = scopeChain(request);
  const levels = await Promise.all(
    chain.map(async (scope) => ({ scope, hooks: await registry.hooksAt(scope, request.hookPoint) })),
  );
  return mergeLevels(levels);
}

/** Levels a resolver keeps (scope × hook point); the least recently used goes first. */
const CACHED_LEVELS = 5_000;

/**
 * Resolution for the engine: each level's hooks are kept with the generation they were read at, and
 * read again only when the registry's generation for that scope and point moved. A stage costs one
 * consistent BatchGetItem of the generations instead of a query per level, and sees every change made
 * before it started, exactly as uncached resolution would.
 */
export class CachedResolver {
  private readonly levels = new Map<string, { generation: number; hooks: Hook[] }>();

  constructor(private readonly registry: Pick<HookRegistry, 'hooksAt' | 'generations'>) {}

  async resolve(request: ResolveRequest): Promise<EffectiveHook[]> {
    const chain = scopeChain(request);
    const generations = await this.registry.generations(chain, request.hookPoint);
    const levels = await Promise.all(
      chain.map(async (scope, index) => {
        const generation = generations[index] ?? 0;
        const key = `${scope.scopeType}\u0000${scope.scopeId ?? ''}\u0000${request.hookPoint}`;
        const cached = this.levels.get(key);
        this.levels.delete(key);
        // Read after the generation: at least that new. A change in between moves it, so the next stage reads again.
        const hooks =
          cached?.generation === generation
            ? cached.hooks
            : await this.registry.hooksAt(scope, request.hookPoint);
        this.levels.set(key, { generation, hooks });
        return { scope, hooks };
      }),
    );
    for (const oldest of this.levels.keys()) {
      if (this.levels.size <= CACHED_LEVELS) break;
      this.levels.delete(oldest);
    }
    return mergeLevels(levels);
  }
}
