/**
 * Entities of the single table and their key templates: every access pattern reads off this file
 * (docs/data-model.md lists them with the query that serves each).
 */
import type { HookPoint, Scope, ScopeType } from '../domain';
import type { EventRejection } from '../ports';

const scopeKey = (scopeType: ScopeType, scopeId: string | null) =>
  scopeId === null ? `SCOPE#${scopeType}` : `SCOPE#${scopeType}#${scopeId}`;

export const HOOK_CATALOG = 'HOOKS';

type RejectedEventRef = Pick<EventRejection, 'eventId' | 'executionId'>;

export const keys = {
  /** A hook lives in its scope's partition: name uniqueness is the key itself, resolution one query. */
  hook: {
    entity: 'hook',
    pk: (scope: Scope) => scopeKey(scope.scopeType, scope.scopeId),
    sk: (hookPoint: HookPoint, name: string) => `HOOK#${hookPoint}#${name}`,
    skPrefix: (hookPoint?: HookPoint) => (hookPoint ? `HOOK#${hookPoint}#` : 'HOOK#'),
    /** gsi1: the catalog of all hooks, by point then scope then name. */
    gsi1pk: () => HOOK_CATALOG,
    gsi1sk: (hookPoint: HookPoint, scope: Scope, name: string) =>
      `${hookPoint}#${scope.scopeType}#${scope.scopeId ?? '-'}#${name}`,
    gsi1skPrefix: (hookPoint: HookPoint, scopeType?: ScopeType) =>
      scopeType ? `${hookPoint}#${scopeType}#` : `${hookPoint}#`,
  },
  /**
   * A generation number per (scope, hook point), beside the scope's hooks and bumped in the same
   * transaction as every change to them: a resolver that read it may keep what it resolved until it moves.
   */
  hookStamp: {
    entity: 'hookStamp',
    pk: (scope: Scope) => scopeKey(scope.scopeType, scope.scopeId),
    sk: (hookPoint: HookPoint) => `STAMP#${hookPoint}`,
  },
  /** From a hook id to the hook's current place (scope, point, name change on replace). */
  hookRef: { entity: 'hookRef', pk: (hookId: string) => `HOOK#${hookId}`, sk: 'REF' },
  /** A webhook's signing secret: write-only, never in a hook read or a log. */
  hookSecret: { entity: 'hookSecret', pk: (hookId: string) => `HOOK#${hookId}`, sk: 'SECRET' },
  /** Audit entries sit beside the ref, so they outlive the hook. */
  hookAudit: {
    entity: 'hookAudit',
    pk: (hookId: string) => `HOOK#${hookId}`,
    sk: (at: string, id: string) => `AUDIT#${at}#${id}`,
    skPrefix: 'AUDIT#',
  },
  executionLog: {
    entity: 'executionLog',
    pk: (logId: string) => `LOG#${logId}`,
    sk: 'LOG',
    /** gsi1: a hook's logs, newest first when read backwards. */
    gsi1pk: (hookId: string) => `HOOKLOGS#${hookId}`,
    gsi1sk: (startedAt: string, logId: string) => `${startedAt}#${logId}`,
    /** gsi2: a job's logs, in start order. */
    gsi2pk: (jobId: string) => `JOB#${jobId}`,
    gsi2sk: (startedAt: string, logId: string) => `LOG#${startedAt}#${logId}`,
    gsi2skPrefix: 'LOG#',
  },
  review: {
    entity: 'review',
    pk: (reviewId: string) => `REVIEW#${reviewId}`,
    sk: 'REVIEW',
    /** gsi1: reviews by status, oldest first. */
    gsi1pk: (status: string) => `REVIEWS#${status}`,
    gsi1sk: (createdAt: string, reviewId: string) => `${createdAt}#${reviewId}`,
  },
  reviewAudit: {
    entity: 'reviewAudit',
    pk: (reviewId: string) => `REVIEW#${reviewId}`,
    sk: (at: string, id: string) => `AUDIT#${at}#${id}`,
    skPrefix: 'AUDIT#',
  },
  /** The idempotency claim on an EventBridge event id. */
  eventClaim: {
    entity: 'eventClaim',
    pk: (eventId: string) => `EVENT#${eventId}`,
    sk: 'CLAIM',
    /** gsi2: a job's stage executions, beside its logs. */
    gsi2pk: (jobId: string) => `JOB#${jobId}`,
    gsi2sk: (claimedAt: string, executionId: string) => `EXEC#${claimedAt}#${executionId}`,
    gsi2skPrefix: 'EXEC#',
  },
  /**
   * A stage event that failed validation, with its reasons; gsi2 lists them newest first. Keyed by its
   * event id (a redelivery is the same record); one without a usable id by the execution that refused
   * it, which is unique, so such events never overwrite each other.
   */
  rejectedEvent: {
    entity: 'rejectedEvent',
    pk: ({ eventId, executionId }: RejectedEventRef) =>
      eventId === null ? `EXECUTION#${executionId}` : `EVENT#${eventId}`,
    sk: 'REJECTED',
    gsi2pk: () => 'REJECTED_EVENTS',
    gsi2sk: (at: string, { eventId, executionId }: RejectedEventRef) => `${at}#${eventId ?? executionId}`,
  },
} as const;
