import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoHookRegistry, keys } from '@stagehooks/core/dynamodb';
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

describe('locked and lockOverride in the registry', () => {
  it('locks a studio block hook created without locked, and no other', async () => {
    const gate = await registry.create(hookCreate({ name: 'gate', failureMode: 'block' }), 'alice');
    const warn = await registry.create(hookCreate({ name: 'warned' }), 'alice');
    const project = await registry.create(
      hookCreate({ name: 'gate', scopeType: 'project', scopeId: 'p1', failureMode: 'block' }),
      'alice',
    );
    const open = await registry.create(
      hookCreate({ name: 'open_gate', failureMode: 'block', locked: false }),
      'alice',
    );
    expect(
      [gate, warn, project, open].map(({ hook }) => [
        hook.name,
        hook.scopeType,
        hook.locked,
        hook.lockOverride,
      ]),
    ).toEqual([
      ['gate', 'studio', true, false],
      ['warned', 'studio', false, false],
      ['gate', 'project', false, false],
      ['open_gate', 'studio', false, false],
    ]);
    expect(await registry.get(gate.hook.id)).toEqual(gate.hook);
  });

  it('keeps locked and lockOverride on a replace that leaves them out, and audits a lock change', async () => {
    // Prepare
    const { hook } = await registry.create(
      hookCreate({ name: 'kept', failureMode: 'block', lockOverride: true }),
      'alice',
    );
    const { locked: _l, lockOverride: _o, ...withoutLocks } = hookReplace(hook, { sortOrder: 5 });

    // Act
    const { hook: kept } = await registry.replace(hook.id, withoutLocks, 'bob');
    const { hook: unlocked } = await registry.replace(hook.id, hookReplace(kept, { locked: false }), 'carol');

    // Assess
    expect(kept).toMatchObject({ revision: 2, sortOrder: 5, locked: true, lockOverride: true });
    expect(unlocked).toMatchObject({ revision: 3, locked: false, lockOverride: true });
    const trail = await registry.auditTrail(hook.id);
    expect(trail.items.map((e) => [e.actor, e.before?.locked ?? null, e.after?.locked ?? null])).toEqual([
      ['carol', true, false],
      ['bob', true, true],
      ['alice', null, true],
    ]);
  });

  it('reads a hook stored before locks existed as a new one would be: a studio gate locked', async () => {
    // Prepare: items as an earlier version wrote them, without locked and lockOverride
    const gate = await registry.create(hookCreate({ name: 'legacy_gate', failureMode: 'block' }), 'a');
    const warn = await registry.create(hookCreate({ name: 'legacy_warn' }), 'a');
    for (const { hook } of [gate, warn]) {
      await table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: {
            pk: keys.hook.pk({ scopeType: 'studio', scopeId: null }),
            sk: keys.hook.sk(hook.hookPoint, hook.name),
          },
          UpdateExpression: 'REMOVE locked, lockOverride',
        }),
      );
    }

    // Act
    const read = await Promise.all([registry.get(gate.hook.id), registry.get(warn.hook.id)]);

    // Assess
    expect(read.map((h) => [h?.name, h?.locked, h?.lockOverride])).toEqual([
      ['legacy_gate', true, false],
      ['legacy_warn', false, false],
    ]);
  });
});
