export * from './contracts';
export * from './definition';
export * from './log-draft';
export * from './run-state';
export * from './stage-context';
export * from './stage-tasks';
export * from './task-tokens';
export * from './test-run';
