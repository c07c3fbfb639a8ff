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

/** The attribute that holds `field` as JSON text. */
const jsonAttribute = (field: string) => `${field}Json`;

/**
 * The item with each of `fields` stored as JSON text (an S attribute named `<field>Json`) instead of a
 * DynamoDB map. Those fields hold JSON from outside (hook config, hook input), and no map conversion
 * keeps every JSON value: the SDK's marshaller takes an object with a `constructor` key for a class
 * instance (and refuses it), drops a `__proto__` key, and DynamoDB refuses maps nested past 32 levels.
 * `JSON.stringify` and `JSON.parse` keep any key at any depth the product accepts.
 */
export function withJsonText(
  item: Record<string, unknown>,
  fields: readonly string[],
): Record<string, unknown> {
  const stored: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (fields.includes(name)) {
      if (value !== undefined) stored[jsonAttribute(name)] = JSON.stringify(value);
    } else stored[name] = value;
  }
  return stored;
}

/**
 * Parses a stored item into its domain shape, without the table's own attributes; `jsonFields` are
 * read back from their JSON text (see `withJsonText`). An item written before a field was stored as text
 * still reads: its map stands.
 */
export function fromItem<S extends z.ZodType>(
  schema: S,
  item: Record<string, unknown>,
  what: string,
  jsonFields: readonly string[] = [],
): z.output<S> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!storageAttributes.has(name) && !jsonFields.some((field) => jsonAttribute(field) === name))
      fields[name] = value;
  }
  for (const field of jsonFields) {
    const text = item[jsonAttribute(field)];
    if (typeof text !== 'string') continue;
    try {
      fields[field] = JSON.parse(text);
    } catch (cause) {
      throw new StoreError(`read ${what}`, {
        cause: new Error(`malformed ${what}: ${field} is not JSON`, { cause }),
      });
    }
  }
  const result = safeParseFields(schema, fields);
  if (!result.success) {
    const detail = result.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new StoreError(`read ${what}`, { cause: new Error(`malformed ${what}: ${detail}`) });
  }
  return result.data;
}
