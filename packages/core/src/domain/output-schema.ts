/**
 * A hook's `outputSchema`: JSON Schema 2020-12 for the `data` it returns, checked with ajv when the hook
 * is saved (a schema ajv cannot compile is refused, naming why) and applied to every result.
 */
import { Ajv2020, type ErrorObject, type Options, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FieldIssue } from '../errors';

/**
 * The product's JSON Schema 2020-12 validator, with formats. Strict, so a misspelt keyword is refused
 * when the schema is saved instead of checking nothing; union types allowed (`["string", "null"]`). No
 * `$ref` is ever fetched: ajv resolves only the schema's own. `options` adds to these (the catalog's
 * parameters: every error, defaults filled in).
 */
export function newStrictAjv(options: Pick<Options, 'allErrors' | 'useDefaults'> = {}): Ajv2020 {
  const ajv = new Ajv2020({
    strict: true,
    strictTypes: false,
    strictTuples: false,
    allowUnionTypes: true,
    allErrors: false,
    logger: false,
    ...options,
  });
  addFormats(ajv);
  return ajv;
}
const newAjv = () => newStrictAjv();

let ajv = newAjv();
/** Compiled validators by schema text; bounded, as each holds generated code. */
const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 256;

/** Why `schema` is not a schema this product can apply, as issues under `outputSchema`; empty when it is. */
export function outputSchemaIssues(schema: unknown): FieldIssue[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    return [{ path: '', message: 'must be a JSON Schema object' }];
  const checker = newAjv();
  if (!checker.validateSchema(schema)) {
    return (checker.errors ?? []).map((error) => ({
      path: pointerToPath(error.instancePath),
      message: `${error.message ?? 'is invalid'} (JSON Schema 2020-12)`,
    }));
  }
  try {
    checker.compile(schema);
    return [];
  } catch (error) {
    return [{ path: '', message: error instanceof Error ? error.message : String(error) }];
  }
}

/** Where `data` does not match `schema`, as `data.path: message`; null when it matches. */
export function outputSchemaMismatch(schema: object, data: unknown): string | null {
  const validate = validatorOf(schema);
  if (validate(data)) return null;
  const [first] = validate.errors ?? [];
  return first ? describe(first) : 'does not match';
}

function validatorOf(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = compiled.get(key);
  if (cached) return cached;
  if (compiled.size >= MAX_COMPILED) {
    // A fresh instance too: ajv keeps every schema it compiled.
    compiled.clear();
    ajv = newAjv();
  }
  const validate = ajv.compile(schema);
  compiled.set(key, validate);
  return validate;
}

function describe(error: ErrorObject): string {
  const at = pointerToPath(error.instancePath);
  const where = at === '' ? 'data' : `data.${at}`.replace('.[', '[');
  const allowed =
    error.keyword === 'enum' && Array.isArray(error.params.allowedValues)
      ? `: ${error.params.allowedValues.map((value: unknown) => JSON.stringify(value)).join(', ')}`
      : '';
  const extra =
    error.keyword === 'additionalProperties' ? ` (${JSON.stringify(error.params.additionalProperty)})` : '';
  return `${where}: ${error.message ?? 'is invalid'}${allowed}${extra}`;
}

/** A JSON Pointer (`/items/0/width`) as the product's dotted path (`items[0].width`). */
function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}
