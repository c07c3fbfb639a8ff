/**
 * Every error stagehooks raises on purpose. HTTP-facing errors carry `statusCode`; only those
 * below 500 are shown to clients as they are.
 */
export class StagehooksError extends Error {
  override name = 'StagehooksError';
  readonly statusCode: number = 500;
}

/**
 * An error in one line for the operator who reads it in a log or a task failure: our own message as it
 * is, anything else marked unexpected, and the underlying cause (errno text, etc.) in brackets.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `unexpected failure: ${String(error)}`;
  const message = error instanceof StagehooksError ? error.message : `unexpected failure: ${error.message}`;
  return error.cause instanceof Error ? `${message} (${error.cause.message.trim()})` : message;
}

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `config.timeoutSeconds`; empty for the whole input. */
  path: string;
  message: string;
}

export class ValidationError extends StagehooksError {
  override name = 'ValidationError';
  override readonly statusCode = 400;
  constructor(
    readonly subject: string,
    readonly issues: FieldIssue[],
    options?: ErrorOptions,
  ) {
    super(
      `invalid ${subject}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
      options,
    );
  }
}

export class NotFoundError extends StagehooksError {
  override name = 'NotFoundError';
  override readonly statusCode = 404;
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} not found`);
  }
}

export class HookNotFoundError extends NotFoundError {
  override name = 'HookNotFoundError';
  constructor(id: string) {
    super('hook', id);
  }
}

export class ConflictError extends StagehooksError {
  override name = 'ConflictError';
  override readonly statusCode = 409;
}

export class HookNameTakenError extends ConflictError {
  override name = 'HookNameTakenError';
  constructor(
    readonly hookName: string,
    readonly scope: { scopeType: string; scopeId: string | null; hookPoint: string },
    options?: ErrorOptions,
  ) {
    const where = scope.scopeId === null ? scope.scopeType : `${scope.scopeType} ${scope.scopeId}`;
    super(`a hook named "${hookName}" already exists at ${where} for ${scope.hookPoint}`, options);
  }
}

export class StaleRevisionError extends ConflictError {
  override name = 'StaleRevisionError';
  constructor(
    readonly hookId: string,
    readonly expectedRevision: number,
    readonly currentRevision: number,
    options?: ErrorOptions,
  ) {
    super(
      `hook ${hookId} is at revision ${currentRevision}, not ${expectedRevision}: reload it and apply your change again`,
      options,
    );
  }
}

/** A review decided after its stage stopped waiting (it timed out or was stopped): recorded, but moot. */
export class ReviewNotAwaitedError extends ConflictError {
  override name = 'ReviewNotAwaitedError';
  constructor(readonly reviewId: string) {
    super('the decision is recorded, but the stage no longer waits for it (it timed out or was stopped)');
  }
}

/** A store request failed in a way the domain has no word for; details stay in `cause`. */
export class StoreError extends StagehooksError {
  override name = 'StoreError';
  constructor(operation: string, options?: ErrorOptions) {
    super(`the store request failed (${operation})`, options);
  }
}

/** The store could not be reached or refused the request (throttling, service errors): nothing was written. */
export class StoreUnavailableError extends StoreError {
  override name = 'StoreUnavailableError';
  override readonly statusCode = 503;
  constructor(operation: string, options?: ErrorOptions) {
    super(operation, options);
    this.message = `the store is unavailable (${operation}); nothing was written, try again`;
  }
}
