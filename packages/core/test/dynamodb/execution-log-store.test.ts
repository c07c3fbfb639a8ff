import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoExecutionLogStore } from '@stagehooks/core/dynamodb';
import { createTestTable } from '@test/dynamodb';
import { logDraft } from '@test/logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let clock: Date;
let store: DynamoExecutionLogStore;

beforeAll(async () => {
  table = await createTestTable();
  clock = new Date('2026-11-20T12:00:00.000Z');
  store = new DynamoExecutionLogStore(table.doc, {
    tableName: table.tableName,
    retentionDays: 30,
    now: () => clock,
  });
});
afterAll(() => table.drop());

const draft = logDraft;

describe('append', () => {
  it('stores every field, an id, and the expiry retention days after the finish', async () => {
    // Act
    const log = await store.append(draft({ hookId: 'hook-append', finishedAt: '2026-11-20T11:30:00.000Z' }));

    // Assess
    expect(log.expiresAt).toBe('2026-12-20T11:30:00.000Z');
    expect(log.truncated).toBe(false);
    expect(await store.get(log.id)).toEqual(log);
  });

  it('writes several logs in one request, each with its given id', async () => {
    const entries = ['batch.0', 'batch.1', 'batch.2'].map((id) => ({
      id,
      draft: draft({ hookId: 'hook-batch', jobId: 'job-batch' }),
    }));
    const written = await store.appendAll(entries);
    expect(written.map((l) => l.id)).toEqual(['batch.0', 'batch.1', 'batch.2']);
    expect((await store.listByJob('job-batch')).items).toEqual(written);
  });

  it('writes more than one request holds, and replaces an id written again (a step recorded again)', async () => {
    const entries = Array.from({ length: 30 }, (_, i) => ({
      id: `many.${i}`,
      draft: draft({ jobId: 'job-many', status: 'passed' }),
    }));
    await store.appendAll(entries);
    await store.appendAll([{ id: 'many.3', draft: draft({ jobId: 'job-many', status: 'error' }) }]);
    const { items } = await store.listByJob('job-many', { limit: 100 });
    expect(items).toHaveLength(30);
    expect((await store.get('many.3'))?.status).toBe('error');
  });

  it('keeps a log whose input holds numbers past 2^53 (pipeline ids)', async () => {
    const log = await store.append(
      draft({ hookId: 'hook-bigint', input: { metadata: { assetId: 1.8e18 } } }),
    );
    expect((await store.get(log.id))?.input).toEqual({ metadata: { assetId: 1.8e18 } });
  });

  it('bounds each captured field to 64 KiB and says it was cut', async () => {
    // Prepare: 1 MiB of stdout, multi-byte stderr, an oversized input
    const big = 'x'.repeat(1024 * 1024);
    const wide = '€'.repeat(30_000); // 3 bytes each: 90 000 bytes

    // Act
    const log = await store.append(
      draft({ hookId: 'hook-big', stdout: big, stderr: wide, input: { blob: big }, responseBody: 'ok' }),
    );

    // Assess
    const stored = await store.get(log.id);
    expect(stored?.truncated).toBe(true);
    expect(stored?.stdout).toHaveLength(64 * 1024);
    expect(Buffer.byteLength(stored?.stderr ?? '')).toBeLessThanOrEqual(64 * 1024);
    expect(stored?.stderr).toMatch(/^€+$/);
    expect(typeof stored?.input).toBe('string');
    expect(Buffer.byteLength(stored?.input as string)).toBeLessThanOrEqual(64 * 1024);
    expect(stored?.responseBody).toBe('ok');
  });
});

describe('listByHook', () => {
  beforeAll(async () => {
    for (const status of ['passed', 'failed', 'passed', 'timed_out', 'failed'] as const) {
      await store.append(draft({ hookId: 'hook-list', status, jobId: 'job-list' }));
    }
  });

  it('returns a hook’s logs newest first', async () => {
    const { items } = await store.listByHook('hook-list');
    expect(items.map((l) => l.status)).toEqual(['failed', 'timed_out', 'passed', 'failed', 'passed']);
    const starts = items.map((l) => l.startedAt);
    expect([...starts].sort().reverse()).toEqual(starts);
  });

  it('filters by status and pages without losing or repeating a log', async () => {
    const failed = await store.listByHook('hook-list', { status: 'failed' });
    expect(failed.items.map((l) => l.status)).toEqual(['failed', 'failed']);

    const first = await store.listByHook('hook-list', { limit: 2 });
    const second = await store.listByHook('hook-list', { limit: 2, cursor: first.nextCursor });
    const third = await store.listByHook('hook-list', { limit: 2, cursor: second.nextCursor });
    const ids = [...first.items, ...second.items, ...third.items].map((l) => l.id);
    expect(new Set(ids).size).toBe(5);
    expect(third.nextCursor).toBeUndefined();
  });
});

describe('listByJob', () => {
  it('returns every execution of a job in start order, across hooks', async () => {
    // Prepare
    const a = await store.append(draft({ jobId: 'job-multi', hookId: 'h-a' }));
    const b = await store.append(draft({ jobId: 'job-multi', hookId: 'h-b', status: 'failed' }));
    await store.append(draft({ jobId: 'job-other', hookId: 'h-a' }));

    // Act
    const all = await store.listByJob('job-multi');
    const failed = await store.listByJob('job-multi', { status: 'failed' });

    // Assess
    expect(all.items.map((l) => l.id)).toEqual([a.id, b.id]);
    expect(failed.items.map((l) => l.id)).toEqual([b.id]);
  });
});

describe('retention', () => {
  it('never returns a log past its expiry, even before DynamoDB deletes it', async () => {
    // Prepare
    const log = await store.append(draft({ hookId: 'hook-ttl', jobId: 'job-ttl' }));
    const later = new Date(Date.parse(log.expiresAt) + 1000);
    const expired = new DynamoExecutionLogStore(table.doc, { tableName: table.tableName, now: () => later });

    // Act / Assess
    expect(await expired.get(log.id)).toBeUndefined();
    expect((await expired.listByHook('hook-ttl')).items).toEqual([]);
    expect((await expired.listByJob('job-ttl')).items).toEqual([]);
    expect((await store.listByHook('hook-ttl')).items.map((l) => l.id)).toEqual([log.id]);
  });

  it('writes the TTL attribute DynamoDB expires items by, in epoch seconds', async () => {
    const log = await store.append(draft({ hookId: 'hook-ttl-attr' }));
    const { Item } = await table.doc.send(
      new GetCommand({
        TableName: table.tableName,
        Key: { pk: `LOG#${log.id}`, sk: 'LOG' },
      }),
    );
    expect(Item?.ttl).toBe(Date.parse(log.expiresAt) / 1000);
  });
});

describe('a selective filter on a busy hook', () => {
  it('answers a short page with a cursor instead of reading the whole partition at once', async () => {
    // Prepare: many passed runs, one failed run at the oldest end
    await store.append(draft({ hookId: 'hook-busy', status: 'failed' }));
    for (let i = 0; i < 300; i++) await store.append(draft({ hookId: 'hook-busy' }));

    // Act: follow cursors until the failed run turns up
    const pages: number[] = [];
    let cursor: string | undefined;
    let found = 0;
    do {
      const page = await store.listByHook('hook-busy', { status: 'failed', limit: 5, cursor });
      pages.push(page.items.length);
      found += page.items.length;
      cursor = page.nextCursor;
    } while (cursor);

    // Assess: several bounded requests, nothing lost
    expect(found).toBe(1);
    expect(pages.length).toBeGreaterThan(1);
  }, 60_000);
});
