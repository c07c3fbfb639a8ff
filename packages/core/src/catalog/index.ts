export * from './catalog';
export * from './entry';
export * from './load';
