export * from './audit';
export * from './execution-log';
export * from './hook';
export * from './parse';
export * from './stage-event';
export * from './vocabulary';
