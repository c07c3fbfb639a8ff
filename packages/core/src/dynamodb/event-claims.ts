import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EventClaims } from '../engine/ports';
import type { FieldIssue } from '../errors';
import { boundText } from '../logs';
import { tableDefinition } from '../table';
import { isConditionFailed, translateStoreError } from './errors';
import { keys } from './keys';

/** Claims outlive any redelivery EventBridge or the pipeline would attempt. */
const CLAIM_DAYS = 30;

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

  async claim(eventId: string, executionId: string): Promise<'claimed' | 'duplicate'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: keys.eventClaim.pk(eventId),
            sk: keys.eventClaim.sk,
            entity: keys.eventClaim.entity,
            eventId,
            executionId,
            claimedAt: this.now().toISOString(),
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

  async recordRejection(eventId: string, reasons: FieldIssue[], event: unknown): Promise<void> {
    const at = this.now().toISOString();
    const { text, cut } = boundText(JSON.stringify(event ?? null));
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: keys.rejectedEvent.pk(eventId),
            sk: keys.rejectedEvent.sk,
            gsi2pk: keys.rejectedEvent.gsi2pk(),
            gsi2sk: keys.rejectedEvent.gsi2sk(at, eventId),
            entity: keys.rejectedEvent.entity,
            eventId,
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
