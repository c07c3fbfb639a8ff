import { randomUUID } from 'node:crypto';
import {
  type EventBridgeEvent,
  isJsonObject,
  jsonTooDeepAt,
  stagehooksBusName,
  stagehooksEventSource,
  tooDeepMessage,
} from '@stagehooks/core/domain';
import { compilePattern, type EventPattern } from '@stagehooks/core/events';
import { AwsApiError } from '../aws-endpoint/api-error';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../step-functions/local-step-functions';

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  /** Epoch seconds, as the AWS JSON protocol sends a timestamp, or an ISO 8601 string. */
  Time?: string | number;
  Resources?: string[];
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** EventBridge's bounds on one PutEvents request and on each of its entries. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_ENTRY_BYTES = 256 * 1024;
/** EventBridge "will only process nested JSON up to 1100 levels deep". */
const EVENTBRIDGE_MAX_DEPTH = 1100;

export interface Rule {
  name: string;
  pattern: EventPattern;
  target: (event: EventBridgeEvent) => void | Promise<void>;
}

/** Locally the pipeline may also use the default bus. */
const BUSES = new Set([stagehooksBusName, 'default']);
const busName = (name: string | undefined) => (name ?? 'default').split('/').at(-1) ?? 'default';

/**
 * The local stand-in for the `stagehooks` EventBridge bus: matches rules with the same patterns as AWS,
 * delivers to their targets, and forwards stagehooks' own events to an HTTP target when configured.
 */
export class LocalEventBus {
  private readonly rules: Array<Rule & { matches: (event: unknown) => boolean }> = [];
  private readonly listeners = new Set<(event: EventBridgeEvent) => void>();

  constructor(
    private readonly options: {
      forwardTo?: string | undefined;
      onForwardError?: (error: Error) => void;
      /** A subscriber or a rule's target failed on an event already taken. */
      onDeliveryError?: (error: Error) => void;
    } = {},
  ) {}

  /** Throws a ValidationError for a pattern EventBridge would refuse. */
  addRule(rule: Rule) {
    this.rules.push({ ...rule, matches: compilePattern(rule.pattern) });
  }

  /** In-process subscribers see every event put on the bus. */
  subscribe(listener: (event: EventBridgeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Takes a batch as EventBridge does: every entry is checked before any is delivered, a bad one is
   * answered in its own result entry and the others go on. Once an entry is taken nothing here throws: a
   * failing target is reported to `onDeliveryError`, never to the caller, which would send it again.
   * `maxDetailDepth`: how deep a Detail may nest; EventBridge's own 1100 levels unless given. The stage
   * contract's tighter bound (32 levels per field) is the stage machine's to check, as on AWS, where
   * EventBridge delivers what it takes and ValidateAndClaim rejects the stage naming the field.
   */
  async putEvents(
    entries: readonly unknown[],
    options: { maxDetailDepth?: number } = {},
  ): Promise<{ Entries: PutEventsResultEntry[]; FailedEntryCount: number }> {
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > PUT_EVENTS_MAX_ENTRIES) {
      const constraint = Array.isArray(entries)
        ? entries.length < 1
          ? 'Member must have length greater than or equal to 1'
          : `Member must have length less than or equal to ${PUT_EVENTS_MAX_ENTRIES}`
        : 'Member must not be null';
      throw new AwsApiError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: ${constraint}`,
      );
    }
    const maxDepth = options.maxDetailDepth ?? EVENTBRIDGE_MAX_DEPTH;
    const checked = entries.map((entry) => checkEntry(entry, maxDepth));
    const results: PutEventsResultEntry[] = [];
    const accepted: EventBridgeEvent[] = [];
    for (const entry of checked) {
      if ('ErrorCode' in entry) {
        results.push(entry);
        continue;
      }
      const event: EventBridgeEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.detailType,
        source: entry.source,
        account: LOCAL_ACCOUNT,
        time: entry.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: LOCAL_REGION,
        resources: entry.resources,
        detail: entry.detail,
      };
      results.push({ EventId: event.id });
      accepted.push(event);
    }
    for (const event of accepted) await this.deliver(event);
    return { Entries: results, FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length };
  }

  private async deliver(event: EventBridgeEvent) {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.deliveryFailed(error, 'a subscriber', event);
      }
    }
    for (const rule of this.rules) {
      try {
        if (rule.matches(event)) await rule.target(event);
      } catch (error) {
        this.deliveryFailed(error, `rule ${rule.name}`, event);
      }
    }
    if (this.options.forwardTo && event.source === stagehooksEventSource) void this.forward(event);
  }

  private deliveryFailed(error: unknown, target: string, event: EventBridgeEvent) {
    const cause = error instanceof Error ? error : new Error(String(error));
    this.options.onDeliveryError?.(
      new Error(`${target} failed on event ${event.id}: ${cause.message}`, { cause }),
    );
  }

  /** The local stand-in for an API-destination target: one POST, one retry. */
  private async forward(event: EventBridgeEvent) {
    const url = this.options.forwardTo as string;
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(5000),
        });
        await response.body?.cancel();
        if (response.ok) return;
        if (attempt === 2) throw new Error(`${url} answered ${response.status}`);
      } catch (error) {
        if (attempt === 2) this.options.onForwardError?.(error as Error);
      }
    }
  }
}

interface CheckedEntry {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  time: Date;
  resources: string[];
}

type EntryError = { ErrorCode: string; ErrorMessage: string };

const invalid = (parameter: string, reason: string): EntryError => ({
  ErrorCode: 'InvalidArgument',
  ErrorMessage: `Parameter ${parameter} is not valid. Reason: ${reason}`,
});
const malformed = (reason?: string): EntryError => ({
  ErrorCode: 'MalformedDetail',
  ErrorMessage: reason ? `Detail is malformed: ${reason}.` : 'Detail is malformed.',
});

/** An entry's size as EventBridge counts it: Time is 14 bytes, the strings their UTF-8 length. */
function entrySize(entry: PutEventsEntry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

function eventTime(time: unknown): Date | undefined {
  if (time === undefined) return new Date();
  const date =
    typeof time === 'number' ? new Date(time * 1000) : typeof time === 'string' ? new Date(time) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

/** What EventBridge answers for one entry: the event to deliver, or the entry's error. */
function checkEntry(input: unknown, maxDepth: number): CheckedEntry | EntryError {
  if (!isJsonObject(input)) return invalid('Entry', 'an entry must be an object.');
  const entry = input as PutEventsEntry;
  if (entry.EventBusName !== undefined && typeof entry.EventBusName !== 'string')
    return invalid('EventBusName', 'EventBusName must be a string.');
  if (!BUSES.has(busName(entry.EventBusName))) {
    return {
      ErrorCode: 'NotFoundException',
      ErrorMessage: `Event bus ${entry.EventBusName} does not exist.`,
    };
  }
  for (const parameter of ['Source', 'DetailType', 'Detail'] as const) {
    const value = entry[parameter];
    if (typeof value !== 'string' || (value === '' && parameter !== 'Detail'))
      return invalid(parameter, `${parameter} is a required argument.`);
  }
  const time = eventTime(entry.Time);
  if (!time) return invalid('Time', 'Time must be a timestamp.');
  const resources = entry.Resources ?? [];
  if (!Array.isArray(resources) || !resources.every((r) => typeof r === 'string'))
    return invalid('Resources', 'Resources must be a list of strings.');
  const size = entrySize(entry);
  if (size > PUT_EVENTS_MAX_ENTRY_BYTES)
    return invalid(
      'Entry',
      `the entry is ${size} bytes, over the ${PUT_EVENTS_MAX_ENTRY_BYTES} bytes (256 KiB) an entry may have.`,
    );
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail as string);
  } catch {
    return malformed();
  }
  if (!isJsonObject(detail)) return malformed('it must be a JSON object');
  const tooDeep = jsonTooDeepAt(detail, maxDepth);
  // Named by the top-level key it is too deep under: the path itself may be thousands of keys long.
  if (tooDeep !== null)
    return malformed(`${['detail', ...tooDeep.slice(0, 1)].join('.')} ${tooDeepMessage(maxDepth)}`);
  return {
    source: entry.Source as string,
    detailType: entry.DetailType as string,
    detail,
    time,
    resources,
  };
}
