import { createTableInput, hookItem, keys, refItem } from '@stagehooks/core/dynamodb';
import { tableDefinition } from '@stagehooks/core/table';
import { hookCreate } from '@test/hooks';
import { describe, expect, it } from 'vitest';

// Offline: key and command construction only; the connected tests use DynamoDB Local.
const hook = {
  ...hookCreate({ name: 'grade', scopeType: 'project', scopeId: 'p1', hookPoint: 'post_segment' }),
  id: '01HOOK',
  revision: 2,
  createdBy: 'alice',
  createdAt: '2026-11-20T12:00:00.000Z',
  updatedAt: '2026-11-20T12:00:00.000Z',
} as const;

describe('keys', () => {
  it('places a hook in its scope partition and the catalog', () => {
    expect(hookItem(hook)).toMatchObject({
      pk: 'SCOPE#project#p1',
      sk: 'HOOK#post_segment#grade',
      gsi1pk: 'HOOKS',
      gsi1sk: 'post_segment#project#p1#grade',
      entity: 'hook',
      id: '01HOOK',
      revision: 2,
    });
    expect(keys.hook.pk({ scopeType: 'studio', scopeId: null })).toBe('SCOPE#studio');
    expect(keys.hook.gsi1sk('pre_segment', { scopeType: 'studio', scopeId: null }, 'x')).toBe(
      'pre_segment#studio#-#x',
    );
  });

  it('makes a ref that holds the hook’s place and nothing else', () => {
    expect(refItem(hook)).toEqual({
      pk: 'HOOK#01HOOK',
      sk: 'REF',
      entity: 'hookRef',
      scopeType: 'project',
      scopeId: 'p1',
      hookPoint: 'post_segment',
      name: 'grade',
    });
  });

  it('orders audit and log sort keys by time', () => {
    const earlier = keys.hookAudit.sk('2026-11-20T12:00:00.000Z', '01A');
    const later = keys.hookAudit.sk('2026-11-20T12:00:00.001Z', '01A');
    expect([later, earlier].sort()).toEqual([earlier, later]);
    expect(keys.executionLog.gsi2sk('2026-11-20T12:00:00.000Z', '01L')).toBe(
      'LOG#2026-11-20T12:00:00.000Z#01L',
    );
  });

  it('keys a rejected event by its id, and one without an id by the execution that refused it', () => {
    const arn = 'arn:aws:states:us-east-1:000000000000:execution:stagehooks-stage:x';
    expect(keys.rejectedEvent.pk({ eventId: 'evt-1', executionId: arn })).toBe('EVENT#evt-1');
    expect(keys.rejectedEvent.pk({ eventId: null, executionId: arn })).toBe(`EXECUTION#${arn}`);
    expect(keys.rejectedEvent.gsi2sk('2026-11-20T12:00:00.000Z', { eventId: null, executionId: arn })).toBe(
      `2026-11-20T12:00:00.000Z#${arn}`,
    );
  });
});

describe('createTableInput', () => {
  it('declares exactly the key attributes of the definition, all strings, every index projecting all', () => {
    const input = createTableInput('stagehooks');
    expect(input.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(input.AttributeDefinitions?.map((a) => a.AttributeName)).toEqual([
      'pk',
      'sk',
      'gsi1pk',
      'gsi1sk',
      'gsi2pk',
      'gsi2sk',
    ]);
    expect(input.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.Projection?.ProjectionType])).toEqual(
      tableDefinition.globalIndexes.map((i) => [i.indexName, 'ALL']),
    );
    expect(input.BillingMode).toBe('PAY_PER_REQUEST');
  });
});
