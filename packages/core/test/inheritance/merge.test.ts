import { EffectiveHook, type Hook, type Scope } from '@stagehooks/core/domain';
import { mergeLevels, scopeChain } from '@stagehooks/core/inheritance';
import { describe, expect, it } from 'vitest';

const studio: Scope = { scopeType: 'studio', scopeId: null };
const project: Scope = { scopeType: 'project', scopeId: 'p1' };
const sceneType: Scope = { scopeType: 'scene_type', scopeId: 'st-dance' };

let n = 0;
type Extra = Partial<Pick<Hook, 'enabled' | 'sortOrder' | 'locked' | 'lockOverride'>>;
function hook(scope: Scope, name: string, extra: Extra = {}): Hook {
  n++;
  return {
    id: `h${n}`,
    name,
    description: '',
    type: 'shell',
    hookPoint: 'post_segment',
    ...scope,
    failureMode: 'warn',
    sortOrder: 100,
    enabled: true,
    locked: false,
    lockOverride: false,
    mode: 'inline',
    revision: 1,
    config: { script: 'true', timeoutSeconds: 30, isolation: 'pool' },
    createdBy: 'alice',
    createdAt: '2026-11-20T12:00:00.000Z',
    updatedAt: '2026-11-20T12:00:00.000Z',
    ...extra,
  };
}

describe('scopeChain', () => {
  it('goes from the studio down to what the request names', () => {
    expect(scopeChain({})).toEqual([studio]);
    expect(scopeChain({ projectId: 'p1' })).toEqual([studio, project]);
    expect(scopeChain({ projectId: 'p1', sceneTypeId: 'st-dance' })).toEqual([studio, project, sceneType]);
  });
});

describe('mergeLevels', () => {
  it('overrides by name and records the chain, nearest first', () => {
    // Prepare
    const s = hook(studio, 'grade');
    const p = hook(project, 'grade');
    const t = hook(sceneType, 'grade');

    // Act
    const [only, ...rest] = mergeLevels([
      { scope: studio, hooks: [s] },
      { scope: project, hooks: [p] },
      { scope: sceneType, hooks: [t] },
    ]);

    // Assess
    expect(rest).toEqual([]);
    expect(only).toEqual({
      hook: t,
      source: sceneType,
      inherited: false,
      overrides: [
        { ...project, hookId: p.id, locked: false },
        { ...studio, hookId: s.id, locked: false },
      ],
      refused: [],
    });
  });

  it('marks hooks from broader scopes as inherited relative to the narrowest level asked', () => {
    const s = hook(studio, 'notify');
    const effective = mergeLevels([
      { scope: studio, hooks: [s] },
      { scope: project, hooks: [] },
    ]);
    expect(effective).toEqual([{ hook: s, source: studio, inherited: true, overrides: [], refused: [] }]);
    expect(mergeLevels([{ scope: studio, hooks: [s] }])[0]?.inherited).toBe(false);
  });

  it('lets a disabled hook mask the inherited one and a narrower enabled one come back', () => {
    const s = hook(studio, 'qc');
    const off = hook(project, 'qc', { enabled: false });
    const on = hook(sceneType, 'qc');
    expect(
      mergeLevels([
        { scope: studio, hooks: [s] },
        { scope: project, hooks: [off] },
      ]),
    ).toEqual([]);
    expect(
      mergeLevels([
        { scope: studio, hooks: [s] },
        { scope: project, hooks: [off] },
        { scope: sceneType, hooks: [on] },
      ])[0]?.overrides.map((o) => o.hookId),
    ).toEqual([off.id, s.id]);
  });

  it('orders by sortOrder, then name', () => {
    const effective = mergeLevels([
      { scope: studio, hooks: [hook(studio, 'b', { sortOrder: 10 }), hook(studio, 'z', { sortOrder: 5 })] },
      {
        scope: project,
        hooks: [hook(project, 'a', { sortOrder: 10 }), hook(project, 'c', { sortOrder: -1 })],
      },
    ]);
    expect(effective.map((e) => e.hook.name)).toEqual(['c', 'z', 'a', 'b']);
  });
});

describe('mergeLevels with locked hooks', () => {
  const gate = () => hook(studio, 'content_policy', { locked: true });

  it('keeps a locked hook in force against a disabled lower hook without lockOverride, and says why', () => {
    // Prepare: the case, an editor's disabled project hook of the gate's name
    const s = gate();
    const off = hook(project, 'content_policy', { enabled: false });

    // Act
    const effective = mergeLevels([
      { scope: studio, hooks: [s] },
      { scope: project, hooks: [off] },
    ]);

    // Assess
    expect(effective).toEqual([
      {
        hook: s,
        source: studio,
        inherited: true,
        overrides: [],
        refused: [
          {
            ...project,
            hookId: off.id,
            enabled: false,
            lockedHookId: s.id,
            reason: `content_policy at studio (hook ${s.id}) is locked: only a hook with lockOverride, set by an admin, may mask it`,
          },
        ],
      },
    ]);
  });

  it('answers exactly the EffectiveHook shape the admin API documents', () => {
    // Prepare: an override and a refusal, so every field holds something
    const s = gate();
    const p = hook(project, 'content_policy', { lockOverride: true });
    const t = hook(sceneType, 'content_policy');

    // Act
    const effective = mergeLevels([
      { scope: studio, hooks: [s] },
      { scope: project, hooks: [p] },
      { scope: sceneType, hooks: [t] },
    ]);

    // Assess: parsing keeps every key and adds none
    expect(effective[0]?.overrides).toHaveLength(1);
    expect(effective[0]?.refused).toHaveLength(1);
    expect(EffectiveHook.array().parse(effective)).toEqual(effective);
  });

  it('refuses an enabled override too, at every lower level', () => {
    const s = gate();
    const p = hook(project, 'content_policy');
    const t = hook(sceneType, 'content_policy');
    const [only] = mergeLevels([
      { scope: studio, hooks: [s] },
      { scope: project, hooks: [p] },
      { scope: sceneType, hooks: [t] },
    ]);
    expect(only?.hook).toBe(s);
    expect(only?.refused.map((r) => [r.hookId, r.enabled, r.lockedHookId])).toEqual([
      [p.id, true, s.id],
      [t.id, true, s.id],
    ]);
    expect(only?.refused[0]?.reason).toMatch(/may override it$/);
  });

  it('lets a hook with lockOverride override or mask a locked one, and records that it was locked', () => {
    const s = gate();
    const p = hook(project, 'content_policy', { lockOverride: true });
    const off = hook(project, 'content_policy', { lockOverride: true, enabled: false });
    expect(
      mergeLevels([
        { scope: studio, hooks: [s] },
        { scope: project, hooks: [p] },
      ]),
    ).toEqual([
      {
        hook: p,
        source: project,
        inherited: false,
        overrides: [{ ...studio, hookId: s.id, locked: true }],
        refused: [],
      },
    ]);
    expect(
      mergeLevels([
        { scope: studio, hooks: [s] },
        { scope: project, hooks: [off] },
      ]),
    ).toEqual([]);
  });

  it('keeps the studio lock against a scene type below an admin’s project override', () => {
    // Prepare: the project's override is an admin's; the scene type's is not
    const s = gate();
    const p = hook(project, 'content_policy', { lockOverride: true });
    const t = hook(sceneType, 'content_policy', { enabled: false });

    // Act
    const [only] = mergeLevels([
      { scope: studio, hooks: [s] },
      { scope: project, hooks: [p] },
      { scope: sceneType, hooks: [t] },
    ]);

    // Assess
    expect(only?.hook).toBe(p);
    expect(only?.refused).toEqual([expect.objectContaining({ hookId: t.id, lockedHookId: s.id })]);
  });

  it('names the nearest lock: a project may lock its own hook against its scene types', () => {
    const s = hook(studio, 'qc');
    const p = hook(project, 'qc', { locked: true });
    const t = hook(sceneType, 'qc');
    const [only] = mergeLevels([
      { scope: studio, hooks: [s] },
      { scope: project, hooks: [p] },
      { scope: sceneType, hooks: [t] },
    ]);
    expect(only).toMatchObject({
      hook: { id: p.id },
      overrides: [{ hookId: s.id, locked: false }],
      refused: [{ hookId: t.id, lockedHookId: p.id }],
    });
  });

  it('holds a lock that is disabled: the name stays the studio’s', () => {
    const s = hook(studio, 'content_policy', { locked: true, enabled: false });
    const p = hook(project, 'content_policy');
    expect(
      mergeLevels([
        { scope: studio, hooks: [s] },
        { scope: project, hooks: [p] },
      ]),
    ).toEqual([]);
  });

  it('leaves unlocked hooks to be overridden as before', () => {
    const s = hook(studio, 'content_policy');
    const off = hook(project, 'content_policy', { enabled: false });
    expect(
      mergeLevels([
        { scope: studio, hooks: [s] },
        { scope: project, hooks: [off] },
      ]),
    ).toEqual([]);
  });
});
