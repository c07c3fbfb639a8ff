import { StagehooksError } from '@stagehooks/core/errors';

export interface FailedEventEntry {
  detailType: string;
  errorCode: string;
  errorMessage: string;
}

/** PutEvents failed, or refused entries even after retries: the verdict or block was not announced. */
export class EventPublishError extends StagehooksError {
  override name = 'EventPublishError';
  constructor(
    message: string,
    readonly failed: FailedEventEntry[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A `secretRef` could not be read. Names the reference and the reason, never a value. */
export class SecretUnavailableError extends StagehooksError {
  override name = 'SecretUnavailableError';
  constructor(
    readonly secretRef: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`secret "${secretRef}" is unavailable: ${reason}`, options);
  }
}

/** Step Functions did not take a task report (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat). */
export class TaskReportError extends StagehooksError {
  override name = 'TaskReportError';
  constructor(operation: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.name}` : '';
    super(`${operation} failed${reason}`, options);
  }
}

/** The script job queue (SQS) failed a request. */
export class ScriptQueueError extends StagehooksError {
  override name = 'ScriptQueueError';
  constructor(operation: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.name}` : '';
    super(`the script queue request failed (${operation})${reason}`, options);
  }
}
