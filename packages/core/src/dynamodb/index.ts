export { documentClient } from './client';
export { DynamoExecutionLogStore, type DynamoExecutionLogStoreOptions } from './execution-log-store';
export { hookItem, refItem } from './hook-items';
export { DynamoHookRegistry, type DynamoHookRegistryOptions, newSigningSecret } from './hook-registry';
export { keys } from './keys';
export { createTableInput, ensureTable } from './table';
