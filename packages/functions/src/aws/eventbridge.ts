import { setTimeout as sleep } from 'node:timers/promises';
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { stagehooksEventSource } from '@stagehooks/core/domain';
import type { EventPublisher, StagehooksEvent } from '@stagehooks/core/ports';
import { EventPublishError, type FailedEventEntry } from '../errors';

export interface EventBridgeEventPublisherOptions {
  eventBusName: string;
  /** Rounds of PutEvents for entries EventBridge refused (throttling, internal errors); default 3. */
  attempts?: number;
  /** Wait before the second round, doubled after each; default 100 ms. */
  retryDelayMs?: number;
}

/** PutEvents takes at most 10 entries per request. */
const MAX_ENTRIES_PER_REQUEST = 10;

/**
 * Puts stagehooks' own events on the bus, with Source `stagehooks`. PutEvents can accept a request and
 * still refuse some entries (FailedEntryCount); those are sent again, and what is still refused after
 * the last round throws an EventPublishError naming each entry's error code.
 */
export class EventBridgeEventPublisher implements EventPublisher {
  private readonly attempts: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: EventBridgeEventPublisherOptions,
  ) {
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 100;
  }

  async publish(events: StagehooksEvent[]): Promise<void> {
    const entries = events.map(
      (event): PutEventsRequestEntry => ({
        EventBusName: this.options.eventBusName,
        Source: stagehooksEventSource,
        DetailType: event.detailType,
        Detail: JSON.stringify(event.detail),
      }),
    );
    for (let start = 0; start < entries.length; start += MAX_ENTRIES_PER_REQUEST) {
      await this.putAll(entries.slice(start, start + MAX_ENTRIES_PER_REQUEST));
    }
  }

  private async putAll(entries: PutEventsRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 1; ; attempt++) {
      const results = await this.put(pending);
      const refused = pending
        .map((entry, index) => ({ entry, result: results[index] }))
        .filter(({ result }) => result === undefined || result.ErrorCode !== undefined);
      if (refused.length === 0) return;
      if (attempt >= this.attempts) {
        const failed = refused.map(({ entry, result }) => failedEntry(entry, result));
        throw new EventPublishError(
          `PutEvents refused ${failed.length} of ${entries.length} event(s) on ${this.options.eventBusName}: ${failed
            .map((f) => `${f.detailType} (${f.errorCode}${f.errorMessage ? `: ${f.errorMessage}` : ''})`)
            .join('; ')}`,
          failed,
        );
      }
      await sleep(this.retryDelayMs * 2 ** (attempt - 1));
      pending = refused.map(({ entry }) => entry);
    }
  }

  private async put(entries: PutEventsRequestEntry[]): Promise<PutEventsResultEntry[]> {
    try {
      const output = await this.client.send(new PutEventsCommand({ Entries: entries }));
      return output.Entries ?? [];
    } catch (error) {
      const reason = error instanceof Error ? error.name : 'unknown error';
      throw new EventPublishError(`PutEvents on ${this.options.eventBusName} failed (${reason})`, [], {
        cause: error,
      });
    }
  }
}

function failedEntry(
  entry: PutEventsRequestEntry,
  result: PutEventsResultEntry | undefined,
): FailedEventEntry {
  return {
    detailType: entry.DetailType ?? 'unknown',
    errorCode: result?.ErrorCode ?? 'NoResult',
    errorMessage: result?.ErrorMessage ?? '',
  };
}
