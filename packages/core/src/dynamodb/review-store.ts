import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Review, type ReviewDecision, type ReviewStatus } from '../domain';
import type { ReviewStore } from '../engine/ports';
import { ConflictError, NotFoundError } from '../errors';
import type { Page, PageRequest } from '../registry';
import { conditionFailedItem, isConditionFailed, translateStoreError } from './errors';
import { fromItem } from './items';
import { keys } from './keys';
import { queryPage } from './pagination';

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

  constructor(
    private readonly client: DynamoDBDocumentClient,
    options: { tableName: string; now?: () => Date },
  ) {
    this.table = options.tableName;
    this.now = options.now ?? (() => new Date());
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
      if (
        conditionFailedItem(error) !== undefined ||
        (error as Error).name === 'ConditionalCheckFailedException'
      )
        return;
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

  async decide(id: string, decision: ReviewDecision, by: string, comment: string | null): Promise<Review> {
    const status: ReviewStatus = decision === 'approve' ? 'approved' : 'rejected';
    return this.close(id, status, comment, { decision, decidedBy: by });
  }

  async close(
    id: string,
    status: ReviewStatus,
    comment: string | null,
    decided: { decision: ReviewDecision | null; decidedBy: string | null } = {
      decision: null,
      decidedBy: null,
    },
  ): Promise<Review> {
    return this.update(id, `close review as ${status}`, {
      UpdateExpression:
        'SET #status = :status, decision = :decision, decidedBy = :by, #comment = :comment, decidedAt = :at, gsi1pk = :gsi1pk',
      ConditionExpression: '#status = :open',
      ExpressionAttributeNames: { '#status': 'status', '#comment': 'comment' },
      ExpressionAttributeValues: {
        ':status': status,
        ':decision': decided.decision,
        ':by': decided.decidedBy,
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
        const review = fromItem(Review, current, 'review');
        // Closing what an admin already decided keeps the decision; deciding twice is a conflict.
        if (
          operation.startsWith('close review as expired') ||
          operation.startsWith('close review as interrupted')
        ) {
          return review;
        }
        throw new ReviewClosedError(id, review.status);
      }
      translateStoreError(error, operation);
    }
  }
}
