import type { z } from 'zod';

/** True when `value` is exactly what its schema describes. */
export type ShapeCheck = (value: unknown) => boolean;

type Def = z.core.$ZodTypeDef & Record<string, unknown>;
type CheckDef = { check: string } & Record<string, unknown>;

/**
 * A quick yes for JSON data (what a Task state receives) that is exactly the schema's shape: every check
 * passes, no key the schema does not know, nothing zod would change. Then zod's output would be a copy
 * of the input, so the input can stand for it. A `false` only means "ask zod" (which names what is
 * wrong). Undefined when the schema uses something this does not model (unions, transforms,
 * refinements, string formats, recursion), so zod parses every input. Why: the stage contracts carry
 * the whole run state into every step, and zod, which allocates per field, parses it several times
 * slower than these checks do. Not for values JSON cannot hold (symbol keys, getters, sparse arrays).
 */
export function exactShape(schema: z.ZodType): ShapeCheck | undefined {
  try {
    return checkOf(schema, new Set());
  } catch (error) {
    if (error instanceof NotModelled) return undefined;
    throw error;
  }
}

class NotModelled extends Error {}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/** `within`: the schemas being read, to give up on one that contains itself. */
function checkOf(schema: z.ZodType, within: Set<z.ZodType>): ShapeCheck {
  if (within.has(schema)) throw new NotModelled('a recursive schema');
  within.add(schema);
  const check = checkOfDef(schema, schema._zod.def as Def, within);
  within.delete(schema);
  return check;
}

function checkOfDef(schema: z.ZodType, def: Def, within: Set<z.ZodType>): ShapeCheck {
  switch (def.type) {
    case 'string':
      return stringCheck(def);
    case 'number':
      return numberCheck(def);
    case 'boolean':
      return (value) => typeof value === 'boolean';
    case 'null':
      return (value) => value === null;
    case 'unknown':
    case 'any':
      // Undefined is a JSON input's missing key: left to zod, which knows the field's optionality.
      return (value) => value !== undefined;
    case 'enum':
    case 'literal': {
      // zod's own list of what it accepts (a numeric TypeScript enum's entries also hold its names).
      const values = (schema._zod as { values?: Set<unknown> }).values;
      if (!values) throw new NotModelled(def.type);
      return (value) => values.has(value);
    }
    case 'nullable': {
      const inner = checkOf(def.innerType as z.ZodType, within);
      return (value) => value === null || inner(value);
    }
    case 'array':
      return arrayCheck(def, within);
    case 'object':
      return objectCheck(def, within);
    case 'record':
      return recordCheck(def, within);
    case 'custom':
      return customCheck(def);
    default:
      throw new NotModelled(def.type);
  }
}

function checksOf(def: Def): CheckDef[] {
  return ((def.checks as Array<{ _zod: { def: CheckDef } }> | undefined) ?? []).map((c) => c._zod.def);
}

function stringCheck(def: Def): ShapeCheck {
  // `z.email()`, `z.uuid()` and the like keep their format on the string schema itself.
  if (def.check !== undefined || def.format !== undefined)
    throw new NotModelled(`string ${String(def.format)}`);
  const tests: ShapeCheck[] = checksOf(def).map((check) => {
    // zod counts code points; a code point is one or two UTF-16 units.
    if (check.check === 'min_length') {
      const minimum = check.minimum as number;
      return (value) => {
        const units = (value as string).length;
        return units >= minimum * 2 || (units >= minimum && codePoints(value as string) >= minimum);
      };
    }
    if (check.check === 'max_length') {
      const maximum = check.maximum as number;
      // At most `maximum` units is at most `maximum` code points; a longer string is left to zod.
      return (value) => (value as string).length <= maximum;
    }
    if (check.check === 'string_format' && check.format === 'regex') {
      const pattern = check.pattern as RegExp;
      if (pattern.global || pattern.sticky) throw new NotModelled('a stateful pattern');
      return (value) => pattern.test(value as string);
    }
    throw new NotModelled(check.check);
  });
  return (value) => typeof value === 'string' && tests.every((test) => test(value));
}

function numberCheck(def: Def): ShapeCheck {
  if (def.check !== undefined && !(def.check === 'number_format' && def.format === 'safeint')) {
    throw new NotModelled(`number ${String(def.format)}`);
  }
  const integer = def.format === 'safeint';
  const tests: ShapeCheck[] = checksOf(def).map((check) => {
    const bound = check.value as number;
    const inclusive = check.inclusive === true;
    if (check.check === 'greater_than') {
      return inclusive ? (value) => (value as number) >= bound : (value) => (value as number) > bound;
    }
    if (check.check === 'less_than') {
      return inclusive ? (value) => (value as number) <= bound : (value) => (value as number) < bound;
    }
    throw new NotModelled(check.check);
  });
  return (value) =>
    typeof value === 'number' &&
    (integer ? Number.isSafeInteger(value) : Number.isFinite(value)) &&
    tests.every((test) => test(value));
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function arrayCheck(def: Def, within: Set<z.ZodType>): ShapeCheck {
  if (checksOf(def).length > 0) throw new NotModelled('array checks');
  const element = checkOf(def.element as z.ZodType, within);
  return (value) => Array.isArray(value) && value.every((item) => element(item));
}

function objectCheck(def: Def, within: Set<z.ZodType>): ShapeCheck {
  if (def.catchall !== undefined || checksOf(def).length > 0) throw new NotModelled('object catchall');
  const fields = Object.entries(def.shape as Record<string, z.ZodType>).map(([key, schema]) => {
    const fieldDef = schema._zod.def as Def;
    const optional = fieldDef.type === 'optional';
    const check = checkOf(optional ? (fieldDef.innerType as z.ZodType) : schema, within);
    return { key, optional, check };
  });
  const known = new Set(fields.map((field) => field.key));
  return (value) => {
    if (!isPlainObject(value)) return false;
    for (const key in value) {
      // A key zod would drop (or `__proto__`, which it would not copy as a key): zod's output would differ.
      if (!known.has(key) || key === '__proto__') return false;
    }
    for (const { key, optional, check } of fields) {
      const field = value[key];
      if (field === undefined) {
        // Absent is fine for an optional field; a present `undefined` is left to zod.
        if (!optional || key in value) return false;
      } else if (!check(field)) return false;
    }
    return true;
  };
}

/** `z.custom(fn)` hands the input on as it is when `fn` says yes; anything added to it is not modelled. */
function customCheck(def: Def): ShapeCheck {
  if (checksOf(def).length > 0 || typeof def.fn !== 'function') throw new NotModelled('custom checks');
  const accepts = def.fn as (value: unknown) => unknown;
  return (value) => value !== undefined && accepts(value) === true;
}

function recordCheck(def: Def, within: Set<z.ZodType>): ShapeCheck {
  const keyDef = (def.keyType as z.ZodType)._zod.def as Def;
  if (keyDef.type !== 'string' || checksOf(keyDef).length > 0) throw new NotModelled('record keys');
  const check = checkOf(def.valueType as z.ZodType, within);
  return (value) => {
    if (!isPlainObject(value)) return false;
    for (const key in value) {
      if (key === '__proto__' || !check(value[key])) return false;
    }
    return true;
  };
}
