import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { HookPoint, jsonTooDeepAt, MAX_JSON_DEPTH } from '../domain';
import { boundText } from '../logs';
import type { EventClaims, EventRejection, StageClaim } from '../ports';
import { tableDefinition } from '../table';
import { isConditionFailed, translateStoreError } from './errors';
import { fromItem } from './items';
import { keys } from './keys';
import { queryAll } from './pagination';

const StoredClaim = z.object({
  eventId: z.string(),
  executionId: z.string(),
  jobId: z.string(),
  hookPoint: HookPoint,
  claimedAt: z.string(),
});

/** Claims outlive any redelivery EventBridge or the pipeline would attempt. */
const CLAIM_DAYS = 30;
/** A rejected event is kept as JSON text when it nests within this (the envelope, detail, then a field). */
const KEPT_EVENT_DEPTH = MAX_JSON_DEPTH + 2;

export class DynamoEventClaims implements EventClaims {
  private readonly table: string;
  private readonly now: () => Date;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    options: { tableName: string; now?: () => Date },
  ) {
    this.table = options.tableName;
    this.now = options.now ?? (() => new Date());
  }

  async claim({
    eventId,
    executionId,
    jobId,
    hookPoint,
  }: Omit<StageClaim, 'claimedAt'>): Promise<'claimed' | 'duplicate'> {
    const claimedAt = this.now().toISOString();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: keys.eventClaim.pk(eventId),
            sk: keys.eventClaim.sk,
            gsi2pk: keys.eventClaim.gsi2pk(jobId),
            gsi2sk: keys.eventClaim.gsi2sk(claimedAt, executionId),
            entity: keys.eventClaim.entity,
            eventId,
            executionId,
            jobId,
            hookPoint,
            claimedAt,
            [tableDefinition.ttlAttribute]: this.expiry(),
          },
          // The same execution claiming again (a retried step) still owns the event.
          ConditionExpression: 'attribute_not_exists(pk) OR executionId = :executionId',
          ExpressionAttributeValues: { ':executionId': executionId },
        }),
      );
      return 'claimed';
    } catch (error) {
      if (isConditionFailed(error)) return 'duplicate';
      translateStoreError(error, 'claim event');
    }
  }

  async executionsOf(jobId: string): Promise<StageClaim[]> {
    const items = await queryAll(
      this.client,
      {
        TableName: this.table,
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :pk AND begins_with(gsi2sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': keys.eventClaim.gsi2pk(jobId),
          ':prefix': keys.eventClaim.gsi2skPrefix,
        },
      },
      'list job executions',
    );
    return items.map((item) => fromItem(StoredClaim, item, 'event claim'));
  }

  async recordRejection({ eventId, executionId, reasons, event }: EventRejection): Promise<void> {
    const at = this.now().toISOString();
    // An event too deep to serialize safely is refused for that alone: the reasons say so.
    const { text, cut } =
      jsonTooDeepAt(event, KEPT_EVENT_DEPTH) === null
        ? boundText(JSON.stringify(event ?? null))
        : { text: 'null', cut: true };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: keys.rejectedEvent.pk({ eventId, executionId }),
            sk: keys.rejectedEvent.sk,
            gsi2pk: keys.rejectedEvent.gsi2pk(),
            gsi2sk: keys.rejectedEvent.gsi2sk(at, { eventId, executionId }),
            entity: keys.rejectedEvent.entity,
            eventId,
            executionId,
            reasons,
            event: text,
            truncated: cut,
            rejectedAt: at,
            [tableDefinition.ttlAttribute]: this.expiry(),
          },
        }),
      );
    } catch (error) {
      translateStoreError(error, 'record rejected event');
    }
  }

  private expiry() {
    return Math.floor(this.now().getTime() / 1000) + CLAIM_DAYS * 24 * 60 * 60;
  }
}
