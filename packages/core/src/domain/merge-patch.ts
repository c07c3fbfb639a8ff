import { isJsonObject } from './json';

/**
 * RFC 7396 JSON Merge Patch: `patch` applied to `target`, neither changed. An object patch merges key by
 * key, a `null` deletes the key, anything else (an array too) replaces. Written here rather than taken
 * from `json-merge-patch` (unmaintained since 2021) because that package assigns keys with `=`, which
 * turns a `__proto__` key into a prototype: the product keeps every own key of the JSON it is given.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isJsonObject(target)) for (const key of Object.keys(target)) setOwn(result, key, target[key]);
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) delete result[key];
    else setOwn(result, key, mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

/** `object[key] = value` that makes an own key of any name, `__proto__` included. */
function setOwn(object: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}
