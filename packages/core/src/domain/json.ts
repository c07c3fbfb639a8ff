import { z } from 'zod';

/** How deep any JSON the product accepts may nest: an object or an array is one level. */
export const MAX_JSON_DEPTH = 32;

/** A JSON object as `JSON.parse` makes it: a plain object (never an array, a class instance or null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
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
  const stack: Array<{ value: object; depth: number; path: Array<string | number> }> = [
    { value, depth: 1, path: [] },
  ];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.depth > maxDepth) return top.path;
    const entries: Array<[string | number, unknown]> = Array.isArray(top.value)
      ? top.value.map((item, index) => [index, item])
      : Object.keys(top.value).map((key) => [key, (top.value as Record<string, unknown>)[key]]);
    // Pushed in reverse, so the first too-deep container in document order is the one found.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i] as [string | number, unknown];
      if (typeof child === 'object' && child !== null)
        stack.push({ value: child, depth: top.depth + 1, path: [...top.path, key] });
    }
  }
  return null;
}

export const tooDeepMessage = (maxDepth: number = MAX_JSON_DEPTH) =>
  `nests more than ${maxDepth} levels deep`;

/**
 * A JSON object kept exactly as given, every own key included: unlike `z.record`, which drops a
 * `__proto__` key, and unlike a copy made by assignment, which turns one into a prototype. For values
 * inside the engine, already checked at the edge.
 */
export const JsonObject = z.custom<Record<string, unknown>>(isJsonObject, { error: 'must be a JSON object' });

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
    if (Buffer.byteLength(JSON.stringify(value), 'utf8') > maxBytes)
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
