import { DynamoHookRegistry, documentClient } from '@stagehooks/core/dynamodb';
import { CachedResolver, lockedAbove, resolveEffectiveHooks } from '@stagehooks/core/inheritance';
import { createTestTable, localDynamoClient } from '@test/dynamodb';
import { hookCreate } from '@test/hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let registry: DynamoHookRegistry;
const commands: string[] = [];

beforeAll(async () => {
  table = await createTestTable();
  // A client of its own that records every command, to count what one resolution costs.
  const counted = localDynamoClient();
  counted.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize' },
  );
  registry = new DynamoHookRegistry(documentClient(counted), { tableName: table.tableName });
});
afterAll(() => table.drop());

const define = (fields: Record<string, unknown>) =>
  registry.create(hookCreate(fields), 'alice').then((r) => r.hook);
const resolve = (request: Parameters<typeof resolveEffectiveHooks>[1]) =>
  resolveEffectiveHooks(registry, request);
const summary = async (request: Parameters<typeof resolveEffectiveHooks>[1]) =>
  (await resolve(request)).map(
    (e) => `${e.hook.name}@${e.source.scopeType}${e.inherited ? '(inherited)' : ''}`,
  );

describe('resolveEffectiveHooks against DynamoDB Local', () => {
  it('returns studio hooks alone when nothing overrides them', async () => {
    await define({
      name: 'notify',
      hookPoint: 'pre_concatenation',
      type: 'webhook',
      config: { url: 'https://hooks.example.com/n' },
    });
    expect(await summary({ hookPoint: 'pre_concatenation', projectId: 'p-none' })).toEqual([
      'notify@studio(inherited)',
    ]);
    expect(await summary({ hookPoint: 'pre_concatenation' })).toEqual(['notify@studio']);
  });

  it('lets a project override a studio hook and a scene type override the project', async () => {
    // Prepare
    const s = await define({ name: 'grade', scopeType: 'studio', hookPoint: 'post_variant' });
    const p = await define({
      name: 'grade',
      scopeType: 'project',
      scopeId: 'p1',
      hookPoint: 'post_variant',
      failureMode: 'block',
    });
    const t = await define({
      name: 'grade',
      scopeType: 'scene_type',
      scopeId: 'st-dance',
      hookPoint: 'post_variant',
    });

    // Act
    const forProject = await resolve({ hookPoint: 'post_variant', projectId: 'p1' });
    const forScene = await resolve({ hookPoint: 'post_variant', projectId: 'p1', sceneTypeId: 'st-dance' });
    const otherProject = await resolve({
      hookPoint: 'post_variant',
      projectId: 'p2',
      sceneTypeId: 'st-other',
    });

    // Assess
    expect(forProject).toEqual([
      {
        hook: p,
        source: { scopeType: 'project', scopeId: 'p1' },
        inherited: false,
        overrides: [{ scopeType: 'studio', scopeId: null, hookId: s.id, locked: false }],
        refused: [],
      },
    ]);
    expect(forScene.map((e) => [e.hook.id, e.overrides.map((o) => o.hookId)])).toEqual([
      [t.id, [p.id, s.id]],
    ]);
    expect(otherProject.map((e) => [e.hook.id, e.inherited])).toEqual([[s.id, true]]);
  });

  it('lets a disabled project hook switch off a studio hook, and never runs disabled hooks', async () => {
    await define({ name: 'watermark', hookPoint: 'post_delivery' });
    await define({
      name: 'watermark',
      scopeType: 'project',
      scopeId: 'p-quiet',
      hookPoint: 'post_delivery',
      enabled: false,
    });
    await define({
      name: 'archive',
      scopeType: 'project',
      scopeId: 'p-quiet',
      hookPoint: 'post_delivery',
      enabled: false,
    });
    expect(await summary({ hookPoint: 'post_delivery', projectId: 'p-quiet' })).toEqual([]);
    expect(await summary({ hookPoint: 'post_delivery', projectId: 'p-loud' })).toEqual([
      'watermark@studio(inherited)',
    ]);
  });

  it('orders the effective set by sortOrder then name across levels', async () => {
    await define({ name: 'zeta', hookPoint: 'pre_segment', sortOrder: 10 });
    await define({ name: 'alpha', hookPoint: 'pre_segment', sortOrder: 20 });
    await define({
      name: 'beta',
      scopeType: 'project',
      scopeId: 'p-order',
      hookPoint: 'pre_segment',
      sortOrder: 10,
    });
    await define({
      name: 'first',
      scopeType: 'scene_type',
      scopeId: 'st-order',
      hookPoint: 'pre_segment',
      sortOrder: 1,
    });
    expect(
      await summary({ hookPoint: 'pre_segment', projectId: 'p-order', sceneTypeId: 'st-order' }),
    ).toEqual([
      'first@scene_type',
      'beta@project(inherited)',
      'zeta@studio(inherited)',
      'alpha@studio(inherited)',
    ]);
  });

  it('keeps hook points apart', async () => {
    await define({
      name: 'segment_only',
      scopeType: 'project',
      scopeId: 'p-points',
      hookPoint: 'post_segment',
    });
    const names = (await resolve({ hookPoint: 'pre_segment', projectId: 'p-points' })).map(
      (e) => e.hook.name,
    );
    expect(names).not.toContain('segment_only');
    expect(
      (await resolve({ hookPoint: 'post_segment', projectId: 'p-points' })).map((e) => e.hook.name),
    ).toContain('segment_only');
  });

  it('costs one query per scope level, whatever the registry holds', async () => {
    // Prepare: more hooks in unrelated scopes
    for (let i = 0; i < 20; i++)
      await define({
        name: `noise_${i}`,
        scopeType: 'project',
        scopeId: `p-noise-${i % 4}`,
        hookPoint: 'post_segment',
      });
    commands.length = 0;

    // Act
    await resolve({ hookPoint: 'post_segment', projectId: 'p1', sceneTypeId: 'st-dance' });
    const threeLevels = [...commands];
    commands.length = 0;
    await resolve({ hookPoint: 'post_segment', projectId: 'p1' });

    // Assess
    expect(threeLevels).toEqual(['QueryCommand', 'QueryCommand', 'QueryCommand']);
    expect(commands).toEqual(['QueryCommand', 'QueryCommand']);
  });
});

describe('locks against DynamoDB Local', () => {
  it('refuses an override saved before the lock, as soon as the lock is saved, cached or not', async () => {
    // Prepare: an unlocked studio gate and a project hook that masks it
    const gate = await define({
      name: 'l_gate',
      hookPoint: 'post_delivery',
      failureMode: 'block',
      locked: false,
    });
    const masking = await define({
      name: 'l_gate',
      hookPoint: 'post_delivery',
      scopeType: 'project',
      scopeId: 'p-lock',
      enabled: false,
    });
    const resolver = new CachedResolver(registry);
    const at = { hookPoint: 'post_delivery' as const, projectId: 'p-lock' };
    const gates = (effective: Awaited<ReturnType<typeof resolve>>) =>
      effective.filter((e) => e.hook.name === 'l_gate');
    expect(gates(await resolver.resolve(at))).toEqual([]);

    // Act: an admin locks the gate afterwards
    const { hook: locked } = await registry.replace(
      gate.id,
      { ...hookReplaceOf(gate), locked: true },
      'alice',
    );

    // Assess: the gate is back in force for that project, and the view says why
    for (const effective of [await resolver.resolve(at), await resolve(at)]) {
      expect(gates(effective)).toEqual([
        {
          hook: locked,
          source: { scopeType: 'studio', scopeId: null },
          inherited: true,
          overrides: [],
          refused: [expect.objectContaining({ hookId: masking.id, enabled: false, lockedHookId: gate.id })],
        },
      ]);
    }
  });

  it('finds the studio lock a project or scene-type hook of the same name would override', async () => {
    const gate = await define({ name: 'l_above', hookPoint: 'pre_segment', failureMode: 'block' });
    await define({ name: 'l_open', hookPoint: 'pre_segment', failureMode: 'block', locked: false });
    const at = (scopeType: 'studio' | 'project' | 'scene_type', name: string) =>
      lockedAbove(registry, { scopeType, hookPoint: 'pre_segment', name }).then((hooks) =>
        hooks.map((h) => h.id),
      );
    expect(gate.locked).toBe(true);
    expect(await at('project', 'l_above')).toEqual([gate.id]);
    expect(await at('scene_type', 'l_above')).toEqual([gate.id]);
    expect(await at('studio', 'l_above')).toEqual([]);
    expect(await at('project', 'l_open')).toEqual([]);
    expect(await at('project', 'l_other')).toEqual([]);
  });
});

describe('CachedResolver', () => {
  const names = (effective: Awaited<ReturnType<CachedResolver['resolve']>>) =>
    effective
      .filter((e) => /^[cr]_/.test(e.hook.name)) // other tests define studio hooks at these points too
      .map((e) => `${e.hook.name}@${e.source.scopeType}:r${e.hook.revision}`);
  const request = { hookPoint: 'post_variant' as const, projectId: 'p-cache', sceneTypeId: 'st-cache' };

  it('reads the generations once per stage and the hooks only when they moved', async () => {
    // Prepare
    const resolver = new CachedResolver(registry);
    const studio = await define({ name: 'c_studio', hookPoint: 'post_variant', sortOrder: 500 });
    await define({ name: 'c_project', hookPoint: 'post_variant', scopeType: 'project', scopeId: 'p-cache' });

    // Act + Assess: a first resolution reads everything; a second only the generations
    commands.length = 0;
    expect(names(await resolver.resolve(request))).toEqual(['c_project@project:r1', 'c_studio@studio:r1']);
    expect(commands.sort()).toEqual(['BatchGetItemCommand', 'QueryCommand', 'QueryCommand', 'QueryCommand']);
    commands.length = 0;
    expect(names(await resolver.resolve(request))).toEqual(['c_project@project:r1', 'c_studio@studio:r1']);
    expect(commands).toEqual(['BatchGetItemCommand']);

    // A change at one level: that level alone is read again, and the change is seen at once
    await registry.replace(studio.id, { ...hookReplaceOf(studio), sortOrder: -1 }, 'alice');
    await define({
      name: 'c_scene',
      hookPoint: 'post_variant',
      scopeType: 'scene_type',
      scopeId: 'st-cache',
    });
    commands.length = 0;
    expect(names(await resolver.resolve(request))).toEqual([
      'c_studio@studio:r2',
      'c_project@project:r1',
      'c_scene@scene_type:r1',
    ]);
    expect(commands.sort()).toEqual(['BatchGetItemCommand', 'QueryCommand', 'QueryCommand']);
    await registry.delete(studio.id, 'alice');
    expect(names(await resolver.resolve(request))).toEqual(['c_project@project:r1', 'c_scene@scene_type:r1']);
  });

  it('agrees with uncached resolution after concurrent changes at one scope', async () => {
    const resolver = new CachedResolver(registry);
    const at = { hookPoint: 'pre_concatenation' as const, projectId: 'p-race' };
    await resolver.resolve(at);
    // Creates at the same scope and point bump the same generation at the same moment
    await Promise.all(
      ['r_a', 'r_b', 'r_c', 'r_d'].map((name) =>
        define({ name, hookPoint: 'pre_concatenation', scopeType: 'project', scopeId: 'p-race' }),
      ),
    );
    expect(names(await resolver.resolve(at))).toEqual(names(await resolve(at)));
    expect(
      await registry.generations([{ scopeType: 'project', scopeId: 'p-race' }], 'pre_concatenation'),
    ).toEqual([4]);
  });
});

function hookReplaceOf(hook: Awaited<ReturnType<typeof define>>) {
  const { id: _id, createdAt: _c, createdBy: _b, updatedAt: _u, ...fields } = hook;
  return fields;
}
