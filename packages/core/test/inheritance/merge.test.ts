import type { Hook, Scope } from '@stagehooks/core/domain';
import { mergeLevels, scopeChain } from '@stagehooks/core/inheritance';
import { describe, expect, it } from 'vitest';

const studio: Scope = { scopeType: 'studio', scopeId: null };
const project: Scope = { scopeType: 'project', scopeId: 'p1' };
const sceneType: Scope = { scopeType: 'scene_type', scopeId: 'st-dance' };

let n = 0;
function hook(scope: Scope, name: string, extra: Partial<Pick<Hook, 'enabled' | 'sortOrder'>> = {}): Hook {
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
        { ...project, hookId: p.id },
        { ...studio, hookId: s.id },
      ],
    });
  });

  it('marks hooks from broader scopes as inherited relative to the narrowest level asked', () => {
    const s = hook(studio, 'notify');
    const effective = mergeLevels([
      { scope: studio, hooks: [s] },
      { scope: project, hooks: [] },
    ]);
    expect(effective).toEqual([{ hook: s, source: studio, inherited: true, overrides: [] }]);
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
