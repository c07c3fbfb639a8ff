export { documentClient } from './client';
export { DynamoEventClaims } from './event-claims';
export { DynamoExecutionLogStore, type DynamoExecutionLogStoreOptions } from './execution-log-store';
export { hookItem, refItem } from './hook-items';
export { DynamoHookRegistry, type DynamoHookRegistryOptions, newSigningSecret } from './hook-registry';
export { keys } from './keys';
export { DynamoReviewStore, ReviewClosedError } from './review-store';
export { createTableInput, ensureTable } from './table';
