import type { Review } from '@stagehooks/core/domain';
import { DynamoExecutionLogStore, DynamoHookRegistry, DynamoReviewStore } from '@stagehooks/core/dynamodb';
import { ValidationError } from '@stagehooks/core/errors';
import type { Page, PageRequest } from '@stagehooks/core/ports';
import { createTestTable } from '@test/dynamodb';
import { hookCreate } from '@test/hooks';
import { logDraft } from '@test/logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let registry: DynamoHookRegistry;
let logs: DynamoExecutionLogStore;
let reviews: DynamoReviewStore;
let auditedHookId: string;

const review = (id: string): Review => ({
  id,
  status: 'open',
  jobId: 'job-pages',
  hookPoint: 'post_segment',
  scopeType: 'project',
  executionId: `exec-${id}`,
  hookId: 'h1',
  hookName: 'color_grade',
  logId: `log-${id}`,
  errorMessage: null,
  taskToken: null,
  decision: null,
  decidedBy: null,
  comment: null,
  createdAt: `2026-11-20T12:00:0${id.slice(-1)}.000Z`,
  decidedAt: null,
});

beforeAll(async () => {
  table = await createTestTable();
  registry = new DynamoHookRegistry(table.doc, { tableName: table.tableName });
  logs = new DynamoExecutionLogStore(table.doc, { tableName: table.tableName, retentionDays: 30 });
  reviews = new DynamoReviewStore(table.doc, { tableName: table.tableName });
  for (const name of ['page_a', 'page_b', 'page_c'])
    await registry.create(hookCreate({ name, scopeType: 'project', scopeId: 'p-pages' }), 'alice');
  const { hook } = await registry.create(hookCreate({ name: 'audited' }), 'alice');
  auditedHookId = hook.id;
  for (const sortOrder of [1, 2])
    await registry.replace(
      hook.id,
      { ...hookCreate({ name: 'audited' }), sortOrder, revision: sortOrder },
      'bob',
    );
  for (let i = 0; i < 3; i++) await logs.append(logDraft({ hookId: 'hook-pages', jobId: 'job-pages' }));
  for (let i = 0; i < 3; i++) await reviews.create(review(`review-${i}`));
});
afterAll(() => table.drop());

/** Every paginated listing of the stores, each read with a page of 1 so it has a next cursor. */
type Listing = (page: PageRequest) => Promise<Page<unknown>>;
const listings: Array<[string, Listing]> = [
  ['hooks of a scope (table)', (page) => registry.list({ scopeType: 'project', scopeId: 'p-pages' }, page)],
  ['hooks of a point (gsi1)', (page) => registry.list({ hookPoint: 'post_segment' }, page)],
  ['every hook (gsi1)', (page) => registry.list({}, page)],
  ['an audit trail', (page) => registry.auditTrail(auditedHookId, page)],
  ['logs of a hook (gsi1)', (page) => logs.listByHook('hook-pages', page)],
  ['logs of a job (gsi2)', (page) => logs.listByJob('job-pages', page)],
  ['open reviews (gsi1)', (page) => reviews.listByStatus('open', page)],
];
/** The listings whose key condition also bounds the sort key (begins_with). */
const prefixed = new Set([
  'hooks of a scope (table)',
  'hooks of a point (gsi1)',
  'an audit trail',
  'logs of a job (gsi2)',
]);

const decode = (cursor: string) =>
  JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k: Record<string, unknown>; q: string };
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Ways to change the key of a real cursor (its listing fingerprint kept, as anyone can). */
const tamperings: Array<[string, (key: Record<string, unknown>) => unknown]> = [
  ['another partition', (key) => ({ ...key, ...partitionOf(key, 'ELSEWHERE') })],
  ['a missing attribute', ({ sk: _sk, ...rest }) => rest],
  ['an extra attribute', (key) => ({ ...key, other: 'x' })],
  ['a number for a key', (key) => ({ ...key, pk: 5 })],
  ['an empty key', (key) => ({ ...key, pk: '' })],
  ['a sort key over 1 KiB', (key) => ({ ...key, ...sortOf(key, `${'x'.repeat(1100)}`, true) })],
  ['a list for the key', () => ['pk', 'sk']],
  ['no key at all', () => null],
];

/** The attribute the listing's partition is named by: the index's when it has one. */
function partitionOf(key: Record<string, unknown>, value: string) {
  const gsi = Object.keys(key).find((name) => /^gsi\dpk$/.test(name));
  return { [gsi ?? 'pk']: value };
}
function sortOf(key: Record<string, unknown>, value: string, append = false) {
  const name = Object.keys(key).find((n) => /^gsi\dsk$/.test(n)) ?? 'sk';
  return { [name]: append ? `${String(key[name])}${value}` : value };
}

describe('cursors', () => {
  it.each(listings)('%s: the cursor it gives leads to the next page', async (_name, list) => {
    const first = await list({ limit: 1 });
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await list({ limit: 1, cursor: first.nextCursor });
    expect(second.items).toHaveLength(1);
    expect(second.items[0]).not.toEqual(first.items[0]);
  });

  describe.each(listings)('%s', (_name, list) => {
    it.each(tamperings)(
      'refuses a cursor with %s as a bad cursor (400), not a store fault',
      async (_t, tamper) => {
        // Prepare
        const { nextCursor } = await list({ limit: 1 });
        const { k, q } = decode(nextCursor as string);

        // Act
        const read = list({ limit: 1, cursor: encode({ k: tamper(k), q }) });

        // Assess
        await expect(read).rejects.toThrow(ValidationError);
        await expect(read).rejects.toMatchObject({ statusCode: 400, issues: [{ path: 'cursor' }] });
      },
    );
  });

  it.each(listings.filter(([name]) => prefixed.has(name)))(
    '%s: refuses a cursor whose sort key lies outside the listing',
    async (_name, list) => {
      const { nextCursor } = await list({ limit: 1 });
      const { k, q } = decode(nextCursor as string);
      for (const sort of ['0before', '~after']) {
        const read = list({ limit: 1, cursor: encode({ k: { ...k, ...sortOf(k, sort) }, q }) });
        await expect(read).rejects.toMatchObject({ statusCode: 400, issues: [{ path: 'cursor' }] });
      }
    },
  );

  it('refuses a cursor of one listing given to another', async () => {
    for (const [, from] of listings) {
      const { nextCursor } = await from({ limit: 1 });
      for (const [, to] of listings) {
        if (to === from) continue;
        await expect(to({ cursor: nextCursor })).rejects.toMatchObject({ issues: [{ path: 'cursor' }] });
      }
    }
  });
});
