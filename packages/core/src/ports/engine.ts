import type {
  HookPoint,
  Review,
  ReviewAuditEntry,
  ReviewDecision,
  ReviewStatus,
  StagehooksDetailType,
} from '../domain';
import type { FieldIssue } from '../errors';
import type { Page, PageRequest } from './pages';

/** Idempotency on the EventBridge event id, and a record of events that were refused. */
export interface StageClaim {
  eventId: string;
  executionId: string;
  jobId: string;
  hookPoint: HookPoint;
  claimedAt: string;
}

/** A stage event refused at validation, and the execution that refused it. */
export interface EventRejection {
  /** Null when the event has no usable id (none, not a string, or not one EventBridge would give). */
  eventId: string | null;
  executionId: string;
  reasons: FieldIssue[];
  event: unknown;
}

export interface EventClaims {
  /** 'claimed' the first time an id is seen; 'duplicate' afterwards. The claim also indexes the job's executions. */
  claim(claim: Omit<StageClaim, 'claimedAt'>): Promise<'claimed' | 'duplicate'>;
  /** The executions that claimed a stage event of this job, oldest first. */
  executionsOf(jobId: string): Promise<StageClaim[]>;
  /** Keeps a refused event and why: one record per event id, or per execution for an event without one. */
  recordRejection(rejection: EventRejection): Promise<void>;
}

export interface ReviewStore {
  create(review: Review): Promise<void>;
  get(id: string): Promise<Review | undefined>;
  /** Stores the waiting execution's token; returns the review as it now is (maybe decided already). */
  attachToken(id: string, taskToken: string): Promise<Review>;
  /** Records a decision on an open review; throws a ConflictError when it is no longer open. */
  decide(id: string, decision: ReviewDecision, by: string, comment: string | null): Promise<Review>;
  /** Closes a review the engine ended (timeout, interruption), unless a decision got there first. */
  close(
    id: string,
    status: Extract<ReviewStatus, 'expired' | 'interrupted'>,
    comment: string,
  ): Promise<Review>;
  listByStatus(status: ReviewStatus, page?: PageRequest): Promise<Page<Review>>;
  /** Decisions on the review, newest first. */
  auditTrail(reviewId: string): Promise<ReviewAuditEntry[]>;
}

/** One of stagehooks' own events (a completion, a block); its source is always stagehooks'. */
export interface StagehooksEvent {
  detailType: StagehooksDetailType;
  detail: object;
}

/** Puts stagehooks' own events (completions, blocks) on the bus. */
export interface EventPublisher {
  publish(events: StagehooksEvent[]): Promise<void>;
}
