/**
 * Every port of the product in one place: what the domain and the engine need from storage, the
 * executors, the bus and Step Functions. Adapters (DynamoDB, HTTP, subprocesses, AWS SDK clients, the
 * local endpoint) implement them; nothing here does I/O.
 */
export * from './engine';
export * from './execution-logs';
export * from './executors';
export * from './pages';
export * from './registry';
export * from './script-queue';
export * from './stage-executions';
export * from './task-reporter';
