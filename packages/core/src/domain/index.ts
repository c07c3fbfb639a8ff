export * from './audit';
export * from './event-envelope';
export * from './execution-log';
export * from './hook';
export * from './parse';
export * from './review';
export * from './stage-event';
export * from './vocabulary';
