import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { isJsonObject } from '../domain';
import { ValidationError } from '../errors';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type PageRequest } from '../ports';
import { type IndexName, keyAttributes, tableDefinition } from '../table';
import { translateStoreError } from './errors';

type Item = Record<string, unknown>;

/** A query on the table or one of its indexes. */
export type TableQuery = QueryCommandInput & { IndexName?: IndexName };

/**
 * Cursors are opaque to clients: the key of the last item returned, tied to the query that produced it
 * so a cursor cannot be replayed against another listing.
 */
function fingerprint(query: QueryCommandInput): string {
  const {
    IndexName: index,
    KeyConditionExpression: condition = '',
    ExpressionAttributeValues: values = {},
  } = query;
  // Only the key condition identifies the listing; filter values (such as "now") may differ per page.
  const keyValues = Object.entries(values).filter(([name]) => new RegExp(`${name}\\b`).test(condition));
  return createHash('sha256')
    .update(JSON.stringify([index, condition, keyValues]))
    .digest('base64url')
    .slice(0, 12);
}

export function encodeCursor(key: Item, query: QueryCommandInput): string {
  return Buffer.from(JSON.stringify({ k: key, q: fingerprint(query) })).toString('base64url');
}

/** DynamoDB's largest partition and sort key values, in bytes: a longer start key is its ValidationException. */
const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;

/** What a page's start key must satisfy: the key attributes of the index, and the key condition's values. */
interface KeyBounds {
  attributes: string[];
  sortKeys: Set<string>;
  partition: { name: string; value: unknown };
  sortPrefix?: { name: string; value: unknown };
}

/**
 * Reads the key condition of a paginated query. Our listings use `pk = :v`, optionally with
 * `AND begins_with(sk, :p)`; any other form is a programming fault, caught by the first listing test.
 */
export function keyBounds(query: TableQuery): KeyBounds {
  const condition = query.KeyConditionExpression ?? '';
  const match =
    /^\s*(#?\w+)\s*=\s*(:\w+)\s*(?:AND\s+begins_with\s*\(\s*(#?\w+)\s*,\s*(:\w+)\s*\)\s*)?$/i.exec(condition);
  const nameOf = (token: string) =>
    token.startsWith('#') ? query.ExpressionAttributeNames?.[token] : (token as string | undefined);
  const valueFor = (token: string) => query.ExpressionAttributeValues?.[token];
  const gsi = tableDefinition.globalIndexes.find((i) => i.indexName === query.IndexName);
  const partitionKey = gsi?.partitionKey ?? tableDefinition.partitionKey;
  const sortKey = gsi?.sortKey ?? tableDefinition.sortKey;
  const [, pkToken = '', pkValue = '', skToken, skValue] = match ?? [];
  if (!match || nameOf(pkToken) !== partitionKey || (skToken !== undefined && nameOf(skToken) !== sortKey)) {
    throw new Error(`queryPage cannot check cursors for the key condition "${condition}"`);
  }
  return {
    attributes: keyAttributes(query.IndexName),
    sortKeys: new Set([tableDefinition.sortKey, sortKey]),
    partition: { name: partitionKey, value: valueFor(pkValue) },
    ...(skValue !== undefined && { sortPrefix: { name: sortKey, value: valueFor(skValue) } }),
  };
}

/**
 * A start key DynamoDB takes for this query: exactly the index's key attributes, each a non-empty string
 * within DynamoDB's key size, in the partition queried and within the sort key condition. Anything else
 * (a tampered cursor) would be DynamoDB's ValidationException, a 500, rather than the client's 400.
 */
function fitsQuery(key: unknown, bounds: KeyBounds): key is Item {
  if (!isJsonObject(key)) return false;
  const names = Object.keys(key);
  if (
    names.length !== bounds.attributes.length ||
    !bounds.attributes.every((name) => Object.hasOwn(key, name))
  )
    return false;
  for (const name of names) {
    const value = key[name];
    const limit = bounds.sortKeys.has(name) ? MAX_SORT_KEY_BYTES : MAX_PARTITION_KEY_BYTES;
    if (typeof value !== 'string' || value === '' || Buffer.byteLength(value, 'utf8') > limit) return false;
  }
  if (key[bounds.partition.name] !== bounds.partition.value) return false;
  const prefix = bounds.sortPrefix;
  return prefix === undefined || (key[prefix.name] as string).startsWith(String(prefix.value));
}

export function decodeCursor(cursor: string, query: TableQuery): Item {
  const bounds = keyBounds(query);
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (isJsonObject(parsed) && parsed.q === fingerprint(query) && fitsQuery(parsed.k, bounds)) {
      return parsed.k;
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('page request', [{ path: 'cursor', message: 'is not a cursor of this listing' }]);
}

export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError('page request', [
      { path: 'limit', message: `must be a whole number from 1 to ${MAX_PAGE_SIZE}` },
    ]);
  }
  return limit;
}

/** DynamoDB requests one page may take; past it the page comes back short, with a cursor. */
export const MAX_READS_PER_PAGE = 10;

/**
 * One page of a query, filled up to `limit` items even when a filter drops some, with a cursor made
 * from the last item returned (not DynamoDB's LastEvaluatedKey, which may lie past it).
 */
export async function queryPage(
  client: DynamoDBDocumentClient,
  query: TableQuery,
  page: PageRequest,
  operation: string,
): Promise<{ items: Item[]; nextCursor?: string }> {
  const limit = pageSize(page.limit);
  const keyNames = keyBounds(query).attributes;
  const items: Item[] = [];
  let startKey = page.cursor ? decodeCursor(page.cursor, query) : undefined;
  try {
    for (let reads = 1; ; reads++) {
      const remaining = limit - items.length;
      const result = await client.send(
        new QueryCommand({
          ...query,
          ExclusiveStartKey: startKey,
          // A filter may drop items: read ahead a little so one page rarely needs several requests.
          Limit: query.FilterExpression ? Math.max(remaining * 2, 25) : remaining,
        }),
      );
      const found = result.Items ?? [];
      for (const [index, item] of found.entries()) {
        items.push(item);
        if (items.length === limit) {
          const more = index < found.length - 1 || result.LastEvaluatedKey !== undefined;
          const key = Object.fromEntries(keyNames.map((name) => [name, item[name]]));
          return more ? { items, nextCursor: encodeCursor(key, query) } : { items };
        }
      }
      startKey = result.LastEvaluatedKey;
      if (!startKey) break;
      // A selective filter on a big partition: answer with what there is and a cursor to go on from,
      // rather than read the whole partition in one request.
      if (reads === MAX_READS_PER_PAGE) return { items, nextCursor: encodeCursor(startKey, query) };
    }
  } catch (error) {
    translateStoreError(error, operation);
  }
  return { items };
}

/** Every item of a query (bounded by what one scope or one hook can hold), following pages. */
export async function queryAll(client: DynamoDBDocumentClient, query: QueryCommandInput, operation: string) {
  const items: Item[] = [];
  let startKey: Item | undefined;
  try {
    do {
      const result = await client.send(new QueryCommand({ ...query, ExclusiveStartKey: startKey }));
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
    } while (startKey);
  } catch (error) {
    translateStoreError(error, operation);
  }
  return items;
}
