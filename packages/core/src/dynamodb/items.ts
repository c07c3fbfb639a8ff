import type { z } from 'zod';
import { safeParseFields } from '../domain';
import { StoreError } from '../errors';
import { tableDefinition } from '../table';

const storageAttributes = new Set<string>([
  tableDefinition.partitionKey,
  tableDefinition.sortKey,
  ...tableDefinition.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  tableDefinition.ttlAttribute,
  'entity',
]);

/** Parses a stored item into its domain shape, without the table's own attributes. */
export function fromItem<S extends z.ZodType>(
  schema: S,
  item: Record<string, unknown>,
  what: string,
): z.output<S> {
  const fields = Object.fromEntries(Object.entries(item).filter(([name]) => !storageAttributes.has(name)));
  const result = safeParseFields(schema, fields);
  if (!result.success) {
    const detail = result.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new StoreError(`read ${what}`, { cause: new Error(`malformed ${what}: ${detail}`) });
  }
  return result.data;
}
