import { DynamoHookRegistry } from '@stagehooks/core/dynamodb';
import {
  HookNameTakenError,
  HookNotFoundError,
  StaleRevisionError,
  ValidationError,
} from '@stagehooks/core/errors';
import { createTestTable } from '@test/dynamodb';
import { hookCreate, hookReplace } from '@test/hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let registry: DynamoHookRegistry;

beforeAll(async () => {
  table = await createTestTable();
  registry = new DynamoHookRegistry(table.doc, { tableName: table.tableName });
});
afterAll(() => table.drop());

describe('create', () => {
  it('stores revision 1 with its author and reads back the same hook', async () => {
    // Act
    const { hook } = await registry.create(hookCreate({ name: 'create_read' }), 'alice');

    // Assess
    expect(hook).toMatchObject({ name: 'create_read', revision: 1, createdBy: 'alice' });
    expect(hook.createdAt).toBe(hook.updatedAt);
    expect(await registry.get(hook.id)).toEqual(hook);
  });

  it('refuses a second hook of the same name at the same scope and point, atomically', async () => {
    // Prepare
    const first = await registry.create(
      hookCreate({ name: 'unique_one', scopeType: 'project', scopeId: 'pu' }),
      'alice',
    );

    // Act
    const second = registry.create(
      hookCreate({ name: 'unique_one', scopeType: 'project', scopeId: 'pu' }),
      'bob',
    );

    // Assess
    await expect(second).rejects.toThrow(HookNameTakenError);
    await expect(second).rejects.toMatchObject({ statusCode: 409 });
    const listed = await registry.list({ scopeType: 'project', scopeId: 'pu' });
    expect(listed.items.map((h) => h.id)).toEqual([first.hook.id]);
  });

  it('allows the same name at another point, another scope or another project', async () => {
    const name = 'same_name';
    await registry.create(hookCreate({ name, scopeType: 'project', scopeId: 'pa' }), 'alice');
    await expect(
      registry.create(hookCreate({ name, scopeType: 'project', scopeId: 'pb' }), 'alice'),
    ).resolves.toBeDefined();
    await expect(
      registry.create(
        hookCreate({ name, scopeType: 'project', scopeId: 'pa', hookPoint: 'pre_segment' }),
        'alice',
      ),
    ).resolves.toBeDefined();
    await expect(
      registry.create(hookCreate({ name, scopeType: 'scene_type', scopeId: 'pa' }), 'alice'),
    ).resolves.toBeDefined();
  });

  it('generates a webhook signing secret, returns it once, and never in the hook', async () => {
    // Act
    const created = await registry.create(
      hookCreate({ name: 'signed', type: 'webhook', config: { url: 'https://hooks.example.com/a' } }),
      'alice',
    );

    // Assess
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(JSON.stringify(created.hook)).not.toContain('whsec_');
    expect(JSON.stringify(await registry.get(created.hook.id))).not.toContain('whsec_');
    expect(await registry.signingSecret(created.hook.id)).toBe(created.signingSecret);
  });

  it('keeps a given signing secret without echoing it', async () => {
    const signingSecret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const created = await registry.create(
      hookCreate({
        name: 'own_secret',
        type: 'webhook',
        config: { url: 'https://hooks.example.com/a', signingSecret },
      }),
      'alice',
    );
    expect(created.signingSecret).toBeUndefined();
    expect(await registry.signingSecret(created.hook.id)).toBe(signingSecret);
  });
});

describe('replace', () => {
  it('bumps the revision and keeps the creation facts', async () => {
    // Prepare
    const { hook } = await registry.create(hookCreate({ name: 'to_replace' }), 'alice');

    // Act
    const { hook: next } = await registry.replace(
      hook.id,
      hookReplace(hook, { failureMode: 'block' }),
      'bob',
    );

    // Assess
    expect(next).toMatchObject({
      id: hook.id,
      revision: 2,
      failureMode: 'block',
      createdBy: 'alice',
      createdAt: hook.createdAt,
    });
    expect(await registry.get(hook.id)).toEqual(next);
  });

  it('refuses a stale revision with the current one', async () => {
    // Prepare
    const { hook } = await registry.create(hookCreate({ name: 'stale' }), 'alice');
    await registry.replace(hook.id, hookReplace(hook, { sortOrder: 5 }), 'bob');

    // Act
    const stale = registry.replace(hook.id, hookReplace(hook, { sortOrder: 6 }), 'carol');

    // Assess
    await expect(stale).rejects.toThrow(StaleRevisionError);
    await expect(stale).rejects.toMatchObject({ currentRevision: 2, expectedRevision: 1, statusCode: 409 });
    expect((await registry.get(hook.id))?.sortOrder).toBe(5);
  });

  it('lets exactly one of two concurrent replaces of the same revision win', async () => {
    // Prepare
    const { hook } = await registry.create(hookCreate({ name: 'race' }), 'alice');

    // Act
    const results = await Promise.allSettled([
      registry.replace(hook.id, hookReplace(hook, { sortOrder: 1 }), 'bob'),
      registry.replace(hook.id, hookReplace(hook, { sortOrder: 2 }), 'carol'),
    ]);

    // Assess
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(StaleRevisionError);
    const trail = await registry.auditTrail(hook.id);
    expect(trail.items.map((e) => e.action)).toEqual(['replaced', 'created']);
  });

  it('moves a renamed hook and frees its old name', async () => {
    // Prepare
    const { hook } = await registry.create(
      hookCreate({ name: 'old_name', scopeType: 'project', scopeId: 'pr' }),
      'alice',
    );

    // Act
    const { hook: renamed } = await registry.replace(
      hook.id,
      hookReplace(hook, { name: 'new_name', hookPoint: 'pre_segment' }),
      'bob',
    );

    // Assess
    expect(await registry.get(hook.id)).toEqual(renamed);
    expect(await registry.hooksAt({ scopeType: 'project', scopeId: 'pr' }, 'post_segment')).toEqual([]);
    expect(
      (await registry.hooksAt({ scopeType: 'project', scopeId: 'pr' }, 'pre_segment')).map((h) => h.id),
    ).toEqual([hook.id]);
    await expect(
      registry.create(hookCreate({ name: 'old_name', scopeType: 'project', scopeId: 'pr' }), 'carol'),
    ).resolves.toBeDefined();
  });

  it('refuses a rename onto a taken name and changes nothing', async () => {
    // Prepare
    await registry.create(hookCreate({ name: 'taken', scopeType: 'project', scopeId: 'pt' }), 'alice');
    const { hook } = await registry.create(
      hookCreate({ name: 'mover', scopeType: 'project', scopeId: 'pt' }),
      'alice',
    );

    // Act
    const rename = registry.replace(hook.id, hookReplace(hook, { name: 'taken' }), 'bob');

    // Assess
    await expect(rename).rejects.toThrow(HookNameTakenError);
    expect(await registry.get(hook.id)).toEqual(hook);
    expect((await registry.auditTrail(hook.id)).items).toHaveLength(1);
  });

  it('creates a secret when a script hook becomes a webhook and drops it when it stops being one', async () => {
    // Prepare
    const { hook } = await registry.create(hookCreate({ name: 'shape_shifter' }), 'alice');

    // Act
    const asWebhook = await registry.replace(
      hook.id,
      hookReplace(hook, { type: 'webhook', config: { url: 'https://hooks.example.com/s' } }),
      'bob',
    );
    const secret = await registry.signingSecret(hook.id);
    const asShell = await registry.replace(
      hook.id,
      hookReplace(asWebhook.hook, { type: 'shell', config: { script: 'true' } }),
      'bob',
    );

    // Assess
    expect(asWebhook.signingSecret).toMatch(/^whsec_/);
    expect(secret).toBe(asWebhook.signingSecret);
    expect(asShell.signingSecret).toBeUndefined();
    expect(await registry.signingSecret(hook.id)).toBeUndefined();
  });

  it('says not found for an unknown id', async () => {
    const { hook } = await registry.create(hookCreate({ name: 'template' }), 'alice');
    await expect(registry.replace('01NOPE', hookReplace(hook), 'bob')).rejects.toThrow(HookNotFoundError);
  });
});

describe('delete', () => {
  it('removes the hook, its name and its secret, and keeps its audit trail', async () => {
    // Prepare
    const { hook } = await registry.create(
      hookCreate({ name: 'doomed', type: 'webhook', config: { url: 'https://hooks.example.com/d' } }),
      'alice',
    );

    // Act
    const deleted = await registry.delete(hook.id, 'bob');

    // Assess
    expect(deleted).toEqual(hook);
    expect(await registry.get(hook.id)).toBeUndefined();
    expect(await registry.signingSecret(hook.id)).toBeUndefined();
    await expect(registry.create(hookCreate({ name: 'doomed' }), 'carol')).resolves.toBeDefined();
    const trail = await registry.auditTrail(hook.id);
    expect(trail.items.map((e) => [e.action, e.actor])).toEqual([
      ['deleted', 'bob'],
      ['created', 'alice'],
    ]);
    expect(trail.items[0]).toMatchObject({ before: hook, after: null });
  });

  it('honours an expected revision and says not found twice', async () => {
    const { hook } = await registry.create(hookCreate({ name: 'careful' }), 'alice');
    await expect(registry.delete(hook.id, 'bob', 7)).rejects.toThrow(StaleRevisionError);
    await registry.delete(hook.id, 'bob', 1);
    await expect(registry.delete(hook.id, 'bob')).rejects.toThrow(HookNotFoundError);
  });
});

describe('audit trail', () => {
  it('records who changed what, newest first, with before and after', async () => {
    // Prepare
    const { hook } = await registry.create(hookCreate({ name: 'audited' }), 'alice');
    const { hook: second } = await registry.replace(hook.id, hookReplace(hook, { enabled: false }), 'bob');
    await registry.replace(second.id, hookReplace(second, { enabled: true }), 'carol');

    // Act
    const trail = await registry.auditTrail(hook.id);

    // Assess
    expect(
      trail.items.map((e) => [e.action, e.actor, e.before?.revision ?? null, e.after?.revision ?? null]),
    ).toEqual([
      ['replaced', 'carol', 2, 3],
      ['replaced', 'bob', 1, 2],
      ['created', 'alice', null, 1],
    ]);
    expect(trail.items[1]?.after?.enabled).toBe(false);
  });

  it('pages through a long trail', async () => {
    let { hook } = await registry.create(hookCreate({ name: 'busy' }), 'alice');
    for (let i = 0; i < 4; i++)
      hook = (await registry.replace(hook.id, hookReplace(hook, { sortOrder: i }), 'bob')).hook;
    const first = await registry.auditTrail(hook.id, { limit: 3 });
    const second = await registry.auditTrail(hook.id, { limit: 3, cursor: first.nextCursor });
    expect(first.items).toHaveLength(3);
    expect(second.items).toHaveLength(2);
    expect(second.nextCursor).toBeUndefined();
    expect([...first.items, ...second.items].map((e) => e.after?.revision ?? null)).toEqual([5, 4, 3, 2, 1]);
  });
});

describe('list', () => {
  // A registry of its own, so other tests' hooks do not show up in the catalog.
  let own: Awaited<ReturnType<typeof createTestTable>>;
  let listing: DynamoHookRegistry;
  const made: Array<{
    name: string;
    scopeType: string;
    scopeId?: string;
    hookPoint: string;
    enabled?: boolean;
  }> = [
    { name: 'a1', scopeType: 'studio', hookPoint: 'post_segment' },
    { name: 'a2', scopeType: 'studio', hookPoint: 'pre_segment', enabled: false },
    { name: 'b1', scopeType: 'project', scopeId: 'p1', hookPoint: 'post_segment' },
    { name: 'b2', scopeType: 'project', scopeId: 'p1', hookPoint: 'post_segment', enabled: false },
    { name: 'b3', scopeType: 'project', scopeId: 'p1', hookPoint: 'post_delivery' },
    { name: 'c1', scopeType: 'project', scopeId: 'p2', hookPoint: 'post_segment' },
    { name: 'd1', scopeType: 'scene_type', scopeId: 'st-dance', hookPoint: 'post_segment' },
    { name: 'd2', scopeType: 'scene_type', scopeId: 'st-dance', hookPoint: 'post_variant' },
  ];

  beforeAll(async () => {
    own = await createTestTable();
    listing = new DynamoHookRegistry(own.doc, { tableName: own.tableName });
    for (const hook of made) await listing.create(hookCreate(hook), 'alice');
  });
  afterAll(() => own.drop());

  const names = async (filter: Parameters<DynamoHookRegistry['list']>[0]) =>
    (await listing.list(filter)).items.map((h) => h.name).sort();

  it.each([
    ['everything', {}, ['a1', 'a2', 'b1', 'b2', 'b3', 'c1', 'd1', 'd2']],
    ['the studio scope', { scopeType: 'studio' }, ['a1', 'a2']],
    ['one project', { scopeType: 'project', scopeId: 'p1' }, ['b1', 'b2', 'b3']],
    [
      'one project at one point',
      { scopeType: 'project', scopeId: 'p1', hookPoint: 'post_segment' },
      ['b1', 'b2'],
    ],
    ['every project', { scopeType: 'project' }, ['b1', 'b2', 'b3', 'c1']],
    ['one point', { hookPoint: 'post_segment' }, ['a1', 'b1', 'b2', 'c1', 'd1']],
    ['one point in every project', { hookPoint: 'post_segment', scopeType: 'project' }, ['b1', 'b2', 'c1']],
    ['enabled only', { enabled: true }, ['a1', 'b1', 'b3', 'c1', 'd1', 'd2']],
    ['disabled in one project', { scopeType: 'project', scopeId: 'p1', enabled: false }, ['b2']],
    ['a scene type', { scopeType: 'scene_type', scopeId: 'st-dance' }, ['d1', 'd2']],
  ] as const)('filters to %s', async (_case, filter, expected) => {
    expect(await names(filter)).toEqual(expected);
  });

  it('pages through every hook exactly once, with and without a filter', async () => {
    for (const filter of [{}, { enabled: true }]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await listing.list(filter, { limit: 3, cursor });
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((h) => h.name));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(seen.sort()).toEqual(await names(filter));
      expect(pages).toBe(Math.ceil(seen.length / 3));
    }
  });

  it('rejects a cursor from another listing, a bad limit and a scope id without its type', async () => {
    const page = await listing.list({}, { limit: 2 });
    await expect(listing.list({ scopeType: 'studio' }, { cursor: page.nextCursor })).rejects.toMatchObject({
      issues: [{ path: 'cursor' }],
    });
    await expect(listing.list({}, { cursor: 'not-a-cursor' })).rejects.toThrow(ValidationError);
    await expect(listing.list({}, { limit: 0 })).rejects.toMatchObject({ issues: [{ path: 'limit' }] });
    await expect(listing.list({ scopeId: 'p1' })).rejects.toMatchObject({ issues: [{ path: 'scopeId' }] });
    await expect(listing.list({ scopeType: 'studio', scopeId: 'x' })).rejects.toMatchObject({
      issues: [{ path: 'scopeId' }],
    });
  });
});
