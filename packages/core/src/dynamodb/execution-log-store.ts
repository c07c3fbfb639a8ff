import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import { ExecutionLog, type ExecutionLogDraft } from '../domain';
import { boundDraft, DEFAULT_RETENTION_DAYS, expiryOf } from '../logs';
import type { ExecutionLogStore, LogListFilter, Page } from '../ports';
import { tableDefinition } from '../table';
import { conditionFailedItem, translateStoreError } from './errors';
import { fromItem, withJsonText } from './items';
import { keys } from './keys';
import { queryPage, type TableQuery } from './pagination';

export interface DynamoExecutionLogStoreOptions {
  tableName: string;
  /** Days a log is kept after the execution finished; default 30. */
  retentionDays?: number;
  now?: () => Date;
  newId?: () => string;
}

const TTL = tableDefinition.ttlAttribute;
/** The hook input holds the pipeline's metadata and scene context, keys and depth as sent: JSON text. */
const LOG_JSON_FIELDS = ['input', 'outputData', 'patch'];
const logFromItem = (item: Record<string, unknown>): ExecutionLog =>
  fromItem(ExecutionLog, item, 'execution log', LOG_JSON_FIELDS);
/** DynamoDB's limit of items per BatchWriteItem. */
const BATCH_WRITE_LIMIT = 25;
/** Rounds of retrying unprocessed items (with backoff) before the write counts as failed. */
const UNPROCESSED_ROUNDS = 8;

export class DynamoExecutionLogStore implements ExecutionLogStore {
  private readonly table: string;
  private readonly retentionDays: number;
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    options: DynamoExecutionLogStoreOptions,
  ) {
    this.table = options.tableName;
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? monotonicFactory();
  }

  async append(draft: ExecutionLogDraft, givenId?: string): Promise<ExecutionLog> {
    const { log, item } = this.itemOf(draft, givenId ?? this.newId());
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      // Written before (a retried step): the first write stands.
      const existing = conditionFailedItem(error);
      if (existing) return logFromItem(existing);
      translateStoreError(error, 'append execution log');
    }
    return log;
  }

  /**
   * Writes several logs in one request (BatchWriteItem, 25 per request), retrying what DynamoDB leaves
   * unprocessed. Unconditional: writing an id again replaces the log (the same execution and position
   * recorded again); `append` is for writes where an earlier log must stand.
   */
  async appendAll(entries: Array<{ draft: ExecutionLogDraft; id: string }>): Promise<ExecutionLog[]> {
    const built = entries.map(({ draft, id }) => this.itemOf(draft, id));
    try {
      for (let start = 0; start < built.length; start += BATCH_WRITE_LIMIT) {
        let requests = built
          .slice(start, start + BATCH_WRITE_LIMIT)
          .map(({ item }) => ({ PutRequest: { Item: item } }));
        for (let round = 0; requests.length > 0; round++) {
          if (round === UNPROCESSED_ROUNDS)
            throw new Error('BatchWriteItem left items unprocessed too often');
          if (round > 0) await sleep(Math.min(500, 10 * 2 ** round));
          const { UnprocessedItems } = await this.client.send(
            new BatchWriteCommand({ RequestItems: { [this.table]: requests } }),
          );
          requests = (UnprocessedItems?.[this.table] ?? []) as typeof requests;
        }
      }
    } catch (error) {
      translateStoreError(error, 'append execution logs');
    }
    return built.map(({ log }) => log);
  }

  private itemOf(draft: ExecutionLogDraft, id: string) {
    const expiresAt = expiryOf(draft.finishedAt, this.retentionDays);
    const log: ExecutionLog = { id, ...boundDraft(draft), expiresAt: expiresAt.toISOString() };
    const item = withJsonText(
      {
        pk: keys.executionLog.pk(id),
        sk: keys.executionLog.sk,
        gsi1pk: keys.executionLog.gsi1pk(log.hookId),
        gsi1sk: keys.executionLog.gsi1sk(log.startedAt, id),
        gsi2pk: keys.executionLog.gsi2pk(log.jobId),
        gsi2sk: keys.executionLog.gsi2sk(log.startedAt, id),
        entity: keys.executionLog.entity,
        [TTL]: Math.floor(expiresAt.getTime() / 1000),
        ...log,
      },
      LOG_JSON_FIELDS,
    );
    return { log, item };
  }

  async get(id: string): Promise<ExecutionLog | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: keys.executionLog.pk(id), sk: keys.executionLog.sk },
        }),
      );
      if (!Item || Number(Item[TTL]) <= this.nowSeconds()) return undefined;
      return logFromItem(Item);
    } catch (error) {
      translateStoreError(error, 'read execution log');
    }
  }

  listByHook(hookId: string, filter: LogListFilter = {}): Promise<Page<ExecutionLog>> {
    return this.list(
      {
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.executionLog.gsi1pk(hookId) },
        ScanIndexForward: false,
      },
      filter,
    );
  }

  listByJob(jobId: string, filter: LogListFilter = {}): Promise<Page<ExecutionLog>> {
    return this.list(
      {
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :pk AND begins_with(gsi2sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': keys.executionLog.gsi2pk(jobId),
          ':prefix': keys.executionLog.gsi2skPrefix,
        },
      },
      filter,
    );
  }

  /** Adds the retention filter (DynamoDB deletes expired items late) and the status filter. */
  private async list(
    query: Omit<TableQuery, 'TableName'>,
    { status, ...page }: LogListFilter,
  ): Promise<Page<ExecutionLog>> {
    const filters = ['#ttl > :now'];
    const names: Record<string, string> = { '#ttl': TTL };
    const values: Record<string, unknown> = { ...query.ExpressionAttributeValues, ':now': this.nowSeconds() };
    if (status) {
      filters.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = status;
    }
    const { items, nextCursor } = await queryPage(
      this.client,
      {
        ...query,
        TableName: this.table,
        FilterExpression: filters.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
      page,
      'list execution logs',
    );
    const logs = items.map((item) => logFromItem(item));
    return nextCursor ? { items: logs, nextCursor } : { items: logs };
  }

  private nowSeconds() {
    return Math.floor(this.now().getTime() / 1000);
  }
}
