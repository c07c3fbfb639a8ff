import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { StagehooksError, StoreError, StoreUnavailableError } from '../errors';

/** Throttling and service faults: the request did nothing and can be tried again. */
const transient = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalServerError',
  'InternalFailure',
  'TimeoutError',
]);

export interface CancellationReason {
  Code?: string;
  Message?: string;
  Item?: Record<string, unknown>;
}

export function isTransactionCanceled(
  error: unknown,
): error is Error & { CancellationReasons?: CancellationReason[] } {
  return error instanceof Error && error.name === 'TransactionCanceledException';
}

export function isConditionFailed(error: unknown): error is Error & { Item?: Record<string, unknown> } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** The item a failed condition returned (ReturnValuesOnConditionCheckFailure), unmarshalled. */
export function conditionFailedItem(error: unknown): Record<string, unknown> | undefined {
  if (!isConditionFailed(error) || !error.Item) return undefined;
  return unmarshall(error.Item as Record<string, AttributeValue>, {
    wrapNumbers: (value: string) => Number(value),
  });
}

/** Translates SDK faults that are not domain outcomes; domain outcomes are handled by the caller first. */
export function translateStoreError(error: unknown, operation: string): never {
  if (error instanceof Error && (transient.has(error.name) || isNetworkError(error))) {
    throw new StoreUnavailableError(operation, { cause: error });
  }
  if (isTransactionCanceled(error) && error.CancellationReasons?.some((r) => r.Code === 'ThrottlingError')) {
    throw new StoreUnavailableError(operation, { cause: error });
  }
  if (error instanceof StagehooksError) throw error;
  throw new StoreError(operation, { cause: error });
}

function isNetworkError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code);
}
