import { type Hook, type HookPoint, type Scope, type ScopeType, scopeTypes } from '../domain';
import type { HookRegistry } from '../registry';

export interface ScopeRef {
  scopeType: ScopeType;
  scopeId: string | null;
}

export interface EffectiveHook {
  hook: Hook;
  source: ScopeRef;
  /** True when the hook is defined above the scope asked about. */
  inherited: boolean;
  /** Same-name hooks at broader scopes that this one replaces, nearest first. */
  overrides: Array<ScopeRef & { hookId: string }>;
}

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
 * same-named hooks above it, a disabled one masks them, and disabled hooks never run.
 */
export function mergeLevels(levels: Array<{ scope: Scope; hooks: Hook[] }>): EffectiveHook[] {
  const requested = levels.at(-1)?.scope.scopeType ?? 'studio';
  const byName = new Map<
    string,
    { winner: Hook; source: Scope; overridden: Array<ScopeRef & { hookId: string }> }
  >();
  for (const { scope, hooks } of levels) {
    for (const hook of hooks) {
      const previous = byName.get(hook.name);
      const overridden = previous
        ? [
            {
              scopeType: previous.source.scopeType,
              scopeId: previous.source.scopeId,
              hookId: previous.winner.id,
            },
            ...previous.overridden,
          ]
        : [];
      byName.set(hook.name, { winner: hook, source: scope, overridden });
    }
  }
  return [...byName.values()]
    .filter(({ winner }) => winner.enabled)
    .map(({ winner, source, overridden }) => ({
      hook: winner,
      source: { scopeType: source.scopeType, scopeId: source.scopeId },
      inherited: scopeTypes.indexOf(source.scopeType) < scopeTypes.indexOf(requested),
      overrides: overridden,
    }))
    .sort((a, b) => a.hook.sortOrder - b.hook.sortOrder || compareNames(a.hook.name, b.hook.name));
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
