export * from './contracts';
export * from './definition';
export * from './log-draft';
export * from './ports';
export * from './stage-tasks';
export * from './test-run';
