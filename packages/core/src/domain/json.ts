import { z } from 'zod';

/** How deep any JSON the product accepts may nest: an object or an array is one level. */
export const MAX_JSON_DEPTH = 32;

/** The size of `value` as JSON text in UTF-8: how Step Functions and DynamoDB count a payload. */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** A JSON object as `JSON.parse` makes it: a plain object (never an array, a class instance or null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Any JSON value, as `JSON.parse` makes one. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Whether `value` is a JSON value: null, a boolean, a finite number, a string, an array of JSON values or
 * a plain object of them. Recursive: call it on a value known to nest within `MAX_JSON_DEPTH`.
 */
export function isJsonValue(value: unknown): value is JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonValue);
  return isJsonObject(value) && Object.values(value).every(isJsonValue);
}

/**
 * The path (keys and indexes, from `value`) of the first object or array that lies deeper than
 * `maxDepth` levels, or null when `value` nests within it. `value` itself, when an object or array, is
 * level 1. Walks with a stack of its own, so no input, however deep, can overflow the call stack; it
 * stops at the first container too deep, so its cost is bounded by the input's size.
 */
export function jsonTooDeepAt(
  value: unknown,
  maxDepth: number = MAX_JSON_DEPTH,
): Array<string | number> | null {
  if (typeof value !== 'object' || value === null) return null;
  // Each frame links to its parent: the path is built only for the container found too deep.
  type Frame = { value: object; depth: number; key: string | number; parent: Frame | null };
  const stack: Frame[] = [{ value, depth: 1, key: '', parent: null }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.depth > maxDepth) {
      const path: Array<string | number> = [];
      for (let frame: Frame | null = top; frame?.parent; frame = frame.parent) path.unshift(frame.key);
      return path;
    }
    const container = top.value as Record<string, unknown>;
    const keys: Array<string | number> = Array.isArray(container)
      ? Array.from(container.keys())
      : Object.keys(container);
    // Pushed in reverse, so the first too-deep container in document order is the one found.
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string | number;
      const child = container[key as string];
      if (typeof child === 'object' && child !== null)
        stack.push({ value: child, depth: top.depth + 1, key, parent: top });
    }
  }
  return null;
}

export const tooDeepMessage = (maxDepth: number = MAX_JSON_DEPTH) =>
  `nests more than ${maxDepth} levels deep`;

/**
 * A JSON object kept exactly as given, every own key included: unlike `z.record`, which drops a
 * `__proto__` key, and unlike a copy made by assignment, which turns one into a prototype. For values
 * inside the engine, already checked at the edge. Its JSON Schema (the OpenAPI document's) says `object`,
 * which a custom check cannot tell zod.
 */
export const JsonObject = z
  .custom<Record<string, unknown>>(isJsonObject, { error: 'must be a JSON object' })
  .meta({ type: 'object' });

/**
 * A JSON object from outside: nests at most `maxDepth` levels (itself level 1) and is at most
 * `maxBytes` as JSON. The depth is checked first, without recursion, so the size check can serialize it.
 */
export function boundedJsonObject(maxBytes: number, maxDepth: number = MAX_JSON_DEPTH) {
  return JsonObject.superRefine((value, context) => {
    if (jsonTooDeepAt(value, maxDepth) !== null) {
      context.addIssue({ code: 'custom', message: tooDeepMessage(maxDepth) });
      return;
    }
    if (jsonBytes(value) > maxBytes)
      context.addIssue({ code: 'custom', message: `must be at most ${maxBytes / 1024} KiB as JSON` });
  });
}

/**
 * `z.record` that refuses a `__proto__` key instead of dropping it without a word (`JSON.parse` makes
 * it an own key; no copy made by assignment keeps it one), naming it: `config.env.__proto__`.
 */
export function recordOfOwnKeys<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V) {
  const record = z.record(key, value);
  return z.preprocess<unknown, typeof record, z.input<typeof record>>((input, context) => {
    if (isJsonObject(input) && Object.hasOwn(input, '__proto__'))
      context.addIssue({
        code: 'custom',
        path: ['__proto__'],
        message: 'cannot be used as a name: it would be lost',
      });
    return input;
  }, record);
}
