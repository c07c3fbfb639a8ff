import { STATUS_CODES } from 'node:http';
import {
  type FieldIssue,
  StagehooksError,
  StaleRevisionError,
  ValidationError,
} from '@stagehooks/core/errors';

/** An error that becomes an HTTP problem answer as it is (RFC 9457). */
export class HttpProblem extends StagehooksError {
  override name = 'HttpProblem';
  constructor(
    override readonly statusCode: number,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldIssue[];
  [extension: string]: unknown;
}

/**
 * The problem document for any error. Our own errors below 500 are shown as they are; anything else
 * becomes a plain 500 (or 503 when the store is unavailable) with no internals.
 */
export function toProblem(error: unknown): Problem {
  const status = error instanceof StagehooksError ? error.statusCode : 500;
  const title = STATUS_CODES[status] ?? 'Error';
  const base = { type: 'about:blank', title, status };
  if (status >= 500) {
    return {
      ...base,
      detail:
        status === 503
          ? 'the store is unavailable; nothing was written, try again'
          : 'the request failed; see the service logs',
    };
  }
  const problem: Problem = { ...base, detail: (error as Error).message };
  if (error instanceof ValidationError) problem.errors = error.issues;
  if (error instanceof StaleRevisionError) problem.currentRevision = error.currentRevision;
  if (error instanceof HttpProblem) Object.assign(problem, error.extra);
  return problem;
}
