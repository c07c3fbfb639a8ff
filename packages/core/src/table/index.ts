/**
 * The single DynamoDB table, defined once: the local bootstrap and the CDK construct both build it from
 * this. Entities and their key templates live in `dynamodb/keys.ts`; docs/data-model.md explains both.
 */
export const tableDefinition = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Overloaded secondary indexes: each entity gives the generic key attributes its own meaning. */
  globalIndexes: [
    { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { indexName: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  ],
  /** Epoch seconds; DynamoDB deletes the item some time after it passes, reads filter it at once. */
  ttlAttribute: 'ttl',
} as const;

export type IndexName = (typeof tableDefinition.globalIndexes)[number]['indexName'];

/** Every key attribute of the table, for building cursors from items. */
export const keyAttributes = (index?: IndexName): string[] => {
  const base = [tableDefinition.partitionKey, tableDefinition.sortKey];
  const gsi = tableDefinition.globalIndexes.find((i) => i.indexName === index);
  return gsi ? [...base, gsi.partitionKey, gsi.sortKey] : base;
};
