import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../errors';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type PageRequest } from '../registry';
import { type IndexName, keyAttributes } from '../table';
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

export function decodeCursor(cursor: string, query: QueryCommandInput): Item {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'k' in parsed &&
      'q' in parsed &&
      parsed.q === fingerprint(query) &&
      typeof parsed.k === 'object' &&
      parsed.k !== null
    ) {
      return parsed.k as Item;
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
  const keyNames = keyAttributes(query.IndexName);
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
