import { randomBytes } from 'node:crypto';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import {
  Hook,
  type HookAuditEntry,
  type HookCreate,
  type HookPoint,
  type HookReplace,
  lockFieldsAfter,
  type Scope,
  type ScopeRef,
} from '../domain';
import { HookNameTakenError, HookNotFoundError, StaleRevisionError, ValidationError } from '../errors';
import type { HookListFilter, HookOrigin, HookRegistry, HookWriteResult, Page, PageRequest } from '../ports';
import { isTransactionCanceled, translateStoreError } from './errors';
import {
  auditEntryFromItem,
  auditItem,
  hookFromItem,
  hookItem,
  hookKey,
  refItem,
  scopeOf,
} from './hook-items';
import { fromItem } from './items';
import { keys } from './keys';
import { queryAll, queryPage, type TableQuery } from './pagination';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export interface DynamoHookRegistryOptions {
  tableName: string;
  now?: () => Date;
  newId?: () => string;
}

/** Attempts at a write that lost a race (TransactionConflict) before giving the caller the conflict. */
const WRITE_ATTEMPTS = 3;

export const newSigningSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** The DynamoDB adapter of the hook registry: every change and its audit entry in one transaction. */
export class DynamoHookRegistry implements HookRegistry {
  private readonly table: string;
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    options: DynamoHookRegistryOptions,
  ) {
    this.table = options.tableName;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? monotonicFactory();
  }

  async create(input: HookCreate, actor: string, origin: HookOrigin = {}): Promise<HookWriteResult> {
    const at = this.now().toISOString();
    const catalog = origin.catalog && { id: origin.catalog.id, version: origin.catalog.version };
    const { hook, signingSecret: given } = this.build(
      { ...input, ...(catalog && { catalog }) },
      {
        id: this.newId(),
        revision: 1,
        createdBy: actor,
        createdAt: at,
        updatedAt: at,
      },
    );
    const signingSecret = hook.type === 'webhook' ? (given ?? newSigningSecret()) : undefined;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.table,
          Item: hookItem(hook),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: refItem(hook),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      this.auditPut(hook.id, 'created', actor, at, null, hook),
    ];
    if (signingSecret) items.push(this.secretPut(hook.id, signingSecret));
    items.push(this.stampBump(scopeOf(hook), hook.hookPoint));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return signingSecret && !given ? { hook, signingSecret } : { hook };
      } catch (error) {
        const reasons = isTransactionCanceled(error) ? (error.CancellationReasons ?? []) : [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') {
          throw new HookNameTakenError(
            hook.name,
            { ...scopeOf(hook), hookPoint: hook.hookPoint },
            { cause: error },
          );
        }
        // Another change at the same scope and point bumped the stamp at the same moment: try again.
        const lostRace = reasons.some((r) => r.Code === 'TransactionConflict');
        if (!lostRace || attempt === WRITE_ATTEMPTS) translateStoreError(error, 'create hook');
      }
    }
  }

  async get(id: string): Promise<Hook | undefined> {
    // A concurrent rename moves the hook item; read the ref again once if it points at nothing.
    for (let attempt = 0; attempt < 2; attempt++) {
      const ref = await this.getItem(keys.hookRef.pk(id), keys.hookRef.sk, 'get hook');
      if (!ref) return undefined;
      const scope = scopeOf(ref as ScopeRef);
      const item = await this.getItem(
        keys.hook.pk(scope),
        keys.hook.sk(ref.hookPoint as HookPoint, String(ref.name)),
        'get hook',
      );
      if (item) return hookFromItem(item);
    }
    return undefined;
  }

  async replace(id: string, input: HookReplace, actor: string): Promise<HookWriteResult> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(id);
      if (!current) throw new HookNotFoundError(id);
      if (current.revision !== input.revision)
        throw new StaleRevisionError(id, input.revision, current.revision);
      const at = this.now().toISOString();
      const { revision: _expected, ...body } = input;
      const definition = {
        ...body,
        ...lockFieldsAfter(body, current),
        ...(current.catalog && { catalog: current.catalog }),
      };
      const { hook, signingSecret: given } = this.build(definition, {
        id,
        revision: current.revision + 1,
        createdBy: current.createdBy,
        createdAt: current.createdAt,
        updatedAt: at,
      });
      const moved =
        keys.hook.pk(scopeOf(hook)) !== keys.hook.pk(scopeOf(current)) ||
        keys.hook.sk(hook.hookPoint, hook.name) !== keys.hook.sk(current.hookPoint, current.name);
      // The id too: a hook deleted and re-created under the same name is another hook.
      const sameRevision = {
        ConditionExpression: '#id = :id AND #revision = :revision',
        ExpressionAttributeNames: { '#id': 'id', '#revision': 'revision' },
        ExpressionAttributeValues: { ':id': id, ':revision': current.revision },
      };
      const items: TransactItem[] = moved
        ? [
            { Delete: { TableName: this.table, Key: hookKey(current), ...sameRevision } },
            {
              Put: {
                TableName: this.table,
                Item: hookItem(hook),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            { Put: { TableName: this.table, Item: refItem(hook) } },
          ]
        : [{ Put: { TableName: this.table, Item: hookItem(hook), ...sameRevision } }];
      items.push(this.auditPut(id, 'replaced', actor, at, current, hook));
      items.push(this.stampBump(scopeOf(current), current.hookPoint));
      if (
        keys.hookStamp.pk(scopeOf(hook)) !== keys.hookStamp.pk(scopeOf(current)) ||
        hook.hookPoint !== current.hookPoint
      ) {
        items.push(this.stampBump(scopeOf(hook), hook.hookPoint));
      }

      // The secret follows the type: kept across webhook revisions, rotated when given, dropped otherwise.
      let created: string | undefined;
      if (hook.type === 'webhook' && given) items.push(this.secretPut(id, given));
      if (hook.type === 'webhook' && !given && current.type !== 'webhook') {
        created = newSigningSecret();
        items.push(this.secretPut(id, created));
      }
      if (hook.type !== 'webhook' && current.type === 'webhook') {
        items.push({
          Delete: { TableName: this.table, Key: { pk: keys.hookSecret.pk(id), sk: keys.hookSecret.sk } },
        });
      }

      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return created ? { hook, signingSecret: created } : { hook };
      } catch (error) {
        if (!isTransactionCanceled(error)) translateStoreError(error, 'replace hook');
        const reasons = error.CancellationReasons ?? [];
        if (moved && reasons[1]?.Code === 'ConditionalCheckFailed') {
          throw new HookNameTakenError(
            hook.name,
            { ...scopeOf(hook), hookPoint: hook.hookPoint },
            { cause: error },
          );
        }
        const lostRace = reasons.some(
          (r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict',
        );
        // Read again: the winner's revision turns this into a StaleRevisionError (or not found).
        if (!lostRace || attempt === WRITE_ATTEMPTS) translateStoreError(error, 'replace hook');
      }
    }
  }

  async delete(id: string, actor: string, expectedRevision?: number): Promise<Hook> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(id);
      if (!current) throw new HookNotFoundError(id);
      if (expectedRevision !== undefined && current.revision !== expectedRevision) {
        throw new StaleRevisionError(id, expectedRevision, current.revision);
      }
      const at = this.now().toISOString();
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: this.table,
                  Key: hookKey(current),
                  ConditionExpression: '#id = :id AND #revision = :revision',
                  ExpressionAttributeNames: { '#id': 'id', '#revision': 'revision' },
                  ExpressionAttributeValues: { ':id': id, ':revision': current.revision },
                },
              },
              { Delete: { TableName: this.table, Key: { pk: keys.hookRef.pk(id), sk: keys.hookRef.sk } } },
              {
                Delete: {
                  TableName: this.table,
                  Key: { pk: keys.hookSecret.pk(id), sk: keys.hookSecret.sk },
                },
              },
              this.auditPut(id, 'deleted', actor, at, current, null),
              this.stampBump(scopeOf(current), current.hookPoint),
            ],
          }),
        );
        return current;
      } catch (error) {
        const lostRace =
          isTransactionCanceled(error) &&
          (error.CancellationReasons ?? []).some(
            (r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict',
          );
        if (!lostRace || attempt === WRITE_ATTEMPTS) translateStoreError(error, 'delete hook');
      }
    }
  }

  async list(filter: HookListFilter, page: PageRequest = {}): Promise<Page<Hook>> {
    const query = this.listQuery(filter);
    const { items, nextCursor } = await queryPage(this.client, query, page, 'list hooks');
    const hooks = items.map((item) => hookFromItem(item));
    return nextCursor ? { items: hooks, nextCursor } : { items: hooks };
  }

  async hooksAt(scope: Scope, hookPoint: HookPoint): Promise<Hook[]> {
    const items = await queryAll(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.hook.pk(scope), ':prefix': keys.hook.skPrefix(hookPoint) },
        ConsistentRead: true,
      },
      'resolve hooks',
    );
    return items.map((item) => hookFromItem(item));
  }

  async generations(scopes: Scope[], hookPoint: HookPoint): Promise<number[]> {
    const keyOf = (scope: Scope) => ({ pk: keys.hookStamp.pk(scope), sk: keys.hookStamp.sk(hookPoint) });
    const found = new Map<string, number>();
    let wanted: Array<Record<string, unknown>> = [
      ...new Map(scopes.map((s) => [keyOf(s).pk, keyOf(s)])).values(),
    ];
    try {
      // BatchGetItem may leave keys unprocessed under load: ask again for those, with a short backoff.
      for (let round = 0; wanted.length > 0; round++) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(200, 10 * 2 ** round)));
        if (round === 8) throw new Error('BatchGetItem left keys unprocessed 8 times');
        const { Responses, UnprocessedKeys } = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.table]: { Keys: wanted, ConsistentRead: true } },
          }),
        );
        for (const item of Responses?.[this.table] ?? []) found.set(String(item.pk), Number(item.generation));
        wanted = UnprocessedKeys?.[this.table]?.Keys ?? [];
      }
    } catch (error) {
      translateStoreError(error, 'read hook generations');
    }
    return scopes.map((scope) => found.get(keyOf(scope).pk) ?? 0);
  }

  async signingSecret(id: string): Promise<string | undefined> {
    const item = await this.getItem(keys.hookSecret.pk(id), keys.hookSecret.sk, 'read signing secret');
    return typeof item?.signingSecret === 'string' ? item.signingSecret : undefined;
  }

  async auditTrail(hookId: string, page: PageRequest = {}): Promise<Page<HookAuditEntry>> {
    const { items, nextCursor } = await queryPage(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.hookAudit.pk(hookId), ':prefix': keys.hookAudit.skPrefix },
        ScanIndexForward: false,
      },
      page,
      'read audit trail',
    );
    const entries = items.map((item) => auditEntryFromItem(item));
    return nextCursor ? { items: entries, nextCursor } : { items: entries };
  }

  /** Chooses the query that serves a filter: the scope partition when a scope is named, else the catalog. */
  private listQuery(filter: HookListFilter): TableQuery {
    const { scopeType, scopeId, hookPoint, enabled } = filter;
    if (scopeId !== undefined && scopeType === undefined) {
      throw new ValidationError('hook filter', [{ path: 'scopeId', message: 'needs scopeType' }]);
    }
    if (scopeType === 'studio' && scopeId !== undefined) {
      throw new ValidationError('hook filter', [
        { path: 'scopeId', message: 'must be absent for studio scope' },
      ]);
    }
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    if (enabled !== undefined) {
      filters.push('#enabled = :enabled');
      names['#enabled'] = 'enabled';
      values[':enabled'] = enabled;
    }
    let keyQuery: Pick<TableQuery, 'IndexName' | 'KeyConditionExpression'>;
    if (scopeType === 'studio' || scopeId !== undefined) {
      const scope = { scopeType, scopeId: scopeId ?? null } as Scope;
      keyQuery = { KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)' };
      values[':pk'] = keys.hook.pk(scope);
      values[':prefix'] = keys.hook.skPrefix(hookPoint);
    } else {
      keyQuery = { IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :pk' };
      values[':pk'] = keys.hook.gsi1pk();
      if (hookPoint) {
        keyQuery.KeyConditionExpression += ' AND begins_with(gsi1sk, :prefix)';
        values[':prefix'] = keys.hook.gsi1skPrefix(hookPoint, scopeType);
      } else if (scopeType) {
        filters.push('#scopeType = :scopeType');
        names['#scopeType'] = 'scopeType';
        values[':scopeType'] = scopeType;
      }
    }
    return {
      TableName: this.table,
      ...keyQuery,
      ...(filters.length > 0 && { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names }),
      ExpressionAttributeValues: values,
    };
  }

  /** Validates the stored shape and splits off the write-only signing secret. */
  private build(
    input: (HookCreate | Omit<HookReplace, 'revision'>) & { catalog?: HookOrigin['catalog'] },
    meta: Pick<Hook, 'id' | 'revision' | 'createdBy' | 'createdAt' | 'updatedAt'>,
  ): { hook: Hook; signingSecret?: string } {
    const { signingSecret, ...config } = input.config as typeof input.config & { signingSecret?: string };
    const hook = fromItem(Hook, { ...input, config, ...meta }, 'hook');
    return signingSecret ? { hook, signingSecret } : { hook };
  }

  private stampBump(scope: Scope, hookPoint: HookPoint): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: { pk: keys.hookStamp.pk(scope), sk: keys.hookStamp.sk(hookPoint) },
        UpdateExpression: 'ADD #generation :one SET #entity = :entity',
        ExpressionAttributeNames: { '#generation': 'generation', '#entity': 'entity' },
        ExpressionAttributeValues: { ':one': 1, ':entity': keys.hookStamp.entity },
      },
    };
  }

  private secretPut(id: string, signingSecret: string): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          pk: keys.hookSecret.pk(id),
          sk: keys.hookSecret.sk,
          entity: keys.hookSecret.entity,
          signingSecret,
        },
      },
    };
  }

  private auditPut(
    hookId: string,
    action: HookAuditEntry['action'],
    actor: string,
    at: string,
    before: Hook | null,
    after: Hook | null,
  ): TransactItem {
    const entry: HookAuditEntry = {
      id: this.newId(),
      entityType: 'hook',
      entityId: hookId,
      action,
      actor,
      at,
      before,
      after,
    };
    return {
      Put: {
        TableName: this.table,
        Item: auditItem(entry),
      },
    };
  }

  private async getItem(pk: string, sk: string, operation: string) {
    try {
      const result = await this.client.send(
        new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
      );
      return result.Item;
    } catch (error) {
      translateStoreError(error, operation);
    }
  }
}
