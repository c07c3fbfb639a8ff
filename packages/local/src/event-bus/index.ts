import { randomUUID } from 'node:crypto';
import { compilePattern, type EventPattern } from '@stagehooks/core/events';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../step-functions/local-step-functions';

/** An event as EventBridge delivers it to targets. */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Time?: string | number;
  Resources?: string[];
}

export interface Rule {
  name: string;
  pattern: EventPattern;
  target: (event: EventEnvelope) => void | Promise<void>;
}

export const STAGEHOOKS_BUS = 'stagehooks';
/** Locally the pipeline may also use the default bus. */
const BUSES = new Set([STAGEHOOKS_BUS, 'default']);
const busName = (name: string | undefined) => (name ?? 'default').split('/').at(-1) ?? 'default';

/**
 * The local stand-in for the `stagehooks` EventBridge bus: matches rules with the same patterns as AWS,
 * delivers to their targets, and forwards stagehooks' own events to an HTTP target when configured.
 */
export class LocalEventBus {
  private readonly rules: Array<Rule & { matches: (event: unknown) => boolean }> = [];
  private readonly listeners = new Set<(event: EventEnvelope) => void>();

  constructor(
    private readonly options: {
      forwardTo?: string | undefined;
      onForwardError?: (error: Error) => void;
    } = {},
  ) {}

  /** Throws a ValidationError for a pattern EventBridge would refuse. */
  addRule(rule: Rule) {
    this.rules.push({ ...rule, matches: compilePattern(rule.pattern) });
  }

  /** In-process subscribers see every event put on the bus. */
  subscribe(listener: (event: EventEnvelope) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async putEvents(entries: PutEventsEntry[]) {
    const results: Array<{ EventId: string } | { ErrorCode: string; ErrorMessage: string }> = [];
    const accepted: EventEnvelope[] = [];
    for (const entry of entries) {
      const problem = entryProblem(entry);
      if (problem) {
        results.push(problem);
        continue;
      }
      const event: EventEnvelope = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType as string,
        source: entry.Source as string,
        account: LOCAL_ACCOUNT,
        time: new Date(entry.Time ?? Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: LOCAL_REGION,
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail as string) as Record<string, unknown>,
      };
      results.push({ EventId: event.id });
      accepted.push(event);
    }
    for (const event of accepted) await this.deliver(event);
    return { Entries: results, FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length };
  }

  private async deliver(event: EventEnvelope) {
    for (const listener of this.listeners) listener(event);
    for (const rule of this.rules) {
      if (rule.matches(event)) await rule.target(event);
    }
    if (this.options.forwardTo && event.source === 'stagehooks') void this.forward(event);
  }

  /** The local stand-in for an API-destination target: one POST, one retry. */
  private async forward(event: EventEnvelope) {
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

function entryProblem(entry: PutEventsEntry): { ErrorCode: string; ErrorMessage: string } | undefined {
  if (!BUSES.has(busName(entry.EventBusName))) {
    return {
      ErrorCode: 'NotFoundException',
      ErrorMessage: `Event bus ${entry.EventBusName} does not exist.`,
    };
  }
  if (!entry.Source || !entry.DetailType) {
    return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source and DetailType are required.' };
  }
  try {
    const detail: unknown = JSON.parse(entry.Detail ?? '');
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
      throw new Error('not an object');
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  return undefined;
}
