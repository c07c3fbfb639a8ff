export * from './contracts';
export * from './definition';
export * from './log-draft';
export * from './stage-tasks';
export * from './task-states';
export * from './task-tokens';
export * from './test-run';
