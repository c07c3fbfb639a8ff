import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import { Review, ReviewAuditEntry, type ReviewDecision, type ReviewStatus } from '../domain';
import { ConflictError, NotFoundError } from '../errors';
import type { Page, PageRequest, ReviewStore } from '../ports';
import { conditionFailedItem, isConditionFailed, isTransactionCanceled, translateStoreError } from './errors';
import { fromItem } from './items';
import { keys } from './keys';
import { queryAll, queryPage } from './pagination';

export class ReviewClosedError extends ConflictError {
  override name = 'ReviewClosedError';
  constructor(
    readonly reviewId: string,
    readonly status: ReviewStatus,
  ) {
    super(`review ${reviewId} is ${status}, not open: it takes no decision`);
  }
}

export class DynamoReviewStore implements ReviewStore {
  private readonly table: string;
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    options: { tableName: string; now?: () => Date; newId?: () => string },
  ) {
    this.table = options.tableName;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? monotonicFactory();
  }

  async create(review: Review): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...this.keysOf(review.id, review.status, review.createdAt),
            entity: keys.review.entity,
            ...review,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      // A retried FlagForReview: the review exists already.
      if (isConditionFailed(error)) return;
      translateStoreError(error, 'create review');
    }
  }

  async get(id: string): Promise<Review | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: keys.review.pk(id), sk: keys.review.sk },
          ConsistentRead: true,
        }),
      );
      return Item ? fromItem(Review, Item, 'review') : undefined;
    } catch (error) {
      translateStoreError(error, 'read review');
    }
  }

  async attachToken(id: string, taskToken: string): Promise<Review> {
    return this.update(id, 'attach task token', {
      UpdateExpression: 'SET taskToken = :token',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':token': taskToken },
    });
  }

  /** The decision and its audit entry land together or not at all. */
  async decide(id: string, decision: ReviewDecision, by: string, comment: string | null): Promise<Review> {
    const before = await this.get(id);
    if (!before) throw new NotFoundError('review', id);
    if (before.status !== 'open') throw new ReviewClosedError(id, before.status);
    const status: ReviewStatus = decision === 'approve' ? 'approved' : 'rejected';
    const at = this.now().toISOString();
    const after: Review = { ...before, status, decision, decidedBy: by, comment, decidedAt: at };
    const { taskToken: _before, ...beforeAudit } = before;
    const { taskToken: _after, ...afterAudit } = after;
    const entry: ReviewAuditEntry = {
      id: this.newId(),
      entityType: 'review',
      entityId: id,
      action: 'decided',
      actor: by,
      at,
      before: beforeAudit,
      after: afterAudit,
    };
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: { pk: keys.review.pk(id), sk: keys.review.sk },
                UpdateExpression:
                  'SET #status = :status, decision = :decision, decidedBy = :by, #comment = :comment, decidedAt = :at, gsi1pk = :gsi1pk',
                ConditionExpression: '#status = :open',
                ExpressionAttributeNames: { '#status': 'status', '#comment': 'comment' },
                ExpressionAttributeValues: {
                  ':status': status,
                  ':decision': decision,
                  ':by': by,
                  ':comment': comment,
                  ':at': at,
                  ':open': 'open',
                  ':gsi1pk': keys.review.gsi1pk(status),
                },
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: {
                  pk: keys.reviewAudit.pk(id),
                  sk: keys.reviewAudit.sk(at, entry.id),
                  entity: keys.reviewAudit.entity,
                  ...entry,
                },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (isTransactionCanceled(error) && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
        const current = await this.get(id);
        throw new ReviewClosedError(id, current?.status ?? 'open');
      }
      translateStoreError(error, 'decide review');
    }
    // The token may have arrived meanwhile; read what is stored now.
    return (await this.get(id)) ?? after;
  }

  async auditTrail(reviewId: string): Promise<ReviewAuditEntry[]> {
    const items = await queryAll(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': keys.reviewAudit.pk(reviewId),
          ':prefix': keys.reviewAudit.skPrefix,
        },
        ScanIndexForward: false,
      },
      'read review audit',
    );
    return items.map((item) => fromItem(ReviewAuditEntry, item, 'review audit entry'));
  }

  /** A review an admin decided first keeps its decision: the stored review comes back unchanged. */
  async close(
    id: string,
    status: Extract<ReviewStatus, 'expired' | 'interrupted'>,
    comment: string,
  ): Promise<Review> {
    return this.update(id, `close review as ${status}`, {
      UpdateExpression: 'SET #status = :status, #comment = :comment, decidedAt = :at, gsi1pk = :gsi1pk',
      ConditionExpression: '#status = :open',
      ExpressionAttributeNames: { '#status': 'status', '#comment': 'comment' },
      ExpressionAttributeValues: {
        ':status': status,
        ':comment': comment,
        ':at': this.now().toISOString(),
        ':open': 'open',
        ':gsi1pk': keys.review.gsi1pk(status),
      },
    });
  }

  async listByStatus(status: ReviewStatus, page: PageRequest = {}): Promise<Page<Review>> {
    const { items, nextCursor } = await queryPage(
      this.client,
      {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.review.gsi1pk(status) },
      },
      page,
      'list reviews',
    );
    const reviews = items.map((item) => fromItem(Review, item, 'review'));
    return nextCursor ? { items: reviews, nextCursor } : { items: reviews };
  }

  private keysOf(id: string, status: ReviewStatus, createdAt: string) {
    return {
      pk: keys.review.pk(id),
      sk: keys.review.sk,
      gsi1pk: keys.review.gsi1pk(status),
      gsi1sk: keys.review.gsi1sk(createdAt, id),
    };
  }

  private async update(
    id: string,
    operation: string,
    update: Pick<
      ConstructorParameters<typeof UpdateCommand>[0],
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<Review> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: keys.review.pk(id), sk: keys.review.sk },
          ...update,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return fromItem(Review, Attributes ?? {}, 'review');
    } catch (error) {
      if (isConditionFailed(error)) {
        const current = conditionFailedItem(error);
        if (!current) throw new NotFoundError('review', id);
        // The review is no longer open: what is stored stands.
        return fromItem(Review, current, 'review');
      }
      translateStoreError(error, operation);
    }
  }
}
