import { stageEventSource, stageReachedDetailType } from '../domain/events';
import { type FieldIssue, ValidationError } from '../errors';

/*
 * EventBridge event patterns, with the semantics of AWS's own matcher (aws/event-ruler): the local stack
 * routes events with these, so a pattern must match here exactly when it would on AWS.
 *
 * The event is read the way EventBridge flattens it: arrays (nested too) are sets of values, an object is
 * never a value itself, so `exists` and every value matcher see only strings, numbers, booleans and null.
 * Within an array of objects a sub-pattern must match one element as a whole ("array consistency").
 */

/** A JSON scalar: what a pattern can match exactly, and the only kind of value a matcher sees in an event. */
type PatternScalar = string | number | boolean | null;

type OneOrMore<T> = T | readonly T[];
type IgnoringCase = { readonly 'equals-ignore-case': string };

type NumericOperator = '=' | '<' | '<=' | '>' | '>=';
/** One comparison, or a range with the lower bound first: `[">", 0, "<=", 5]`. */
type NumericCondition =
  | readonly [NumericOperator, number]
  | readonly ['>' | '>=', number, '<' | '<=', number];

type AnythingBut =
  | OneOrMore<string>
  | OneOrMore<number>
  | { readonly prefix: OneOrMore<string> }
  | { readonly suffix: OneOrMore<string> }
  | { readonly 'equals-ignore-case': OneOrMore<string> }
  | { readonly wildcard: OneOrMore<string> };

/** A content filter: an object with exactly one of these keys. */
type ValueMatcher =
  | { readonly prefix: string | IgnoringCase }
  | { readonly suffix: string | IgnoringCase }
  | IgnoringCase
  | { readonly wildcard: string }
  | { readonly 'anything-but': AnythingBut }
  | { readonly numeric: NumericCondition }
  | { readonly exists: boolean }
  | { readonly cidr: string };

/**
 * Field names map to a nested pattern or to a non-empty list of values and matchers, any of which may match;
 * all fields must match. `$or` holds at least two patterns, one of which must match at that level.
 */
export interface EventPattern {
  readonly [field: string]:
    | readonly (PatternScalar | ValueMatcher)[]
    | EventPattern
    | readonly EventPattern[];
}

/** The rule that starts the stage state machine: the pipeline's "Stage Reached" events. */
export const stageReachedPattern = {
  source: [stageEventSource],
  'detail-type': [stageReachedDetailType],
} as const satisfies EventPattern;

/**
 * Checks `pattern` against EventBridge's grammar, throwing a ValidationError (a 400) that names every bad
 * part, and compiles it once, for a rule that matches many events (a bus on its hot path).
 */
export function compilePattern(pattern: unknown): (event: unknown) => boolean {
  const compiled = compileOrThrow(pattern);
  return (event) => matchesAt(compiled, event);
}

// ---------------------------------------------------------------------------------------------- compiling

type LeafTest = (value: PatternScalar) => boolean;
type CompiledMatcher = { kind: 'exists'; present: boolean } | { kind: 'value'; test: LeafTest };
type CompiledField =
  | { kind: 'leaf'; key: string; matchers: CompiledMatcher[] }
  | { kind: 'nested'; key: string; pattern: CompiledPattern };
interface CompiledPattern {
  fields: CompiledField[];
  /** The `$or` branches at this level, if any. */
  anyOf: CompiledPattern[] | null;
}
/** Why a matcher was rejected; the caller adds the path. */
type Invalid = { invalid: string };

const invalid = (reason: string): Invalid => ({ invalid: reason });
const isInvalid = <T extends object>(result: T | Invalid): result is Invalid => 'invalid' in result;

function compileOrThrow(input: unknown): CompiledPattern {
  const issues: FieldIssue[] = [];
  const compiled = compileObject(input, [], issues, false);
  if (issues.length > 0) throw new ValidationError('event pattern', issues);
  return compiled;
}

const matcherNames = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
];
/** Names EventBridge refuses as field names inside `$or`, where they would read as matchers. */
const reservedInOr = new Set([...matcherNames, 'exactly', '=', '<', '<=', '>', '>=']);

function compileObject(input: unknown, path: string[], issues: FieldIssue[], inOr: boolean): CompiledPattern {
  const compiled: CompiledPattern = { fields: [], anyOf: null };
  if (!isRecord(input)) {
    issues.push({ path: path.join('.'), message: 'must be a pattern object' });
    return compiled;
  }
  const keys = Object.keys(input);
  if (keys.length === 0) issues.push({ path: path.join('.'), message: 'must not be an empty object' });
  for (const key of keys) {
    const value = input[key];
    const fieldPath = [...path, key];
    if (key === '$or') {
      compiled.anyOf = compileOr(value, fieldPath, issues);
    } else if (inOr && reservedInOr.has(key)) {
      issues.push({
        path: fieldPath.join('.'),
        message: `"${key}" is reserved for matchers and cannot be a field name in $or`,
      });
    } else if (Array.isArray(value)) {
      compiled.fields.push({ kind: 'leaf', key, matchers: compileLeaf(value, fieldPath, issues) });
    } else if (isRecord(value)) {
      compiled.fields.push({ kind: 'nested', key, pattern: compileObject(value, fieldPath, issues, inOr) });
    } else {
      issues.push({
        path: fieldPath.join('.'),
        message: 'must be an array of values and matchers, or a nested pattern object',
      });
    }
  }
  return compiled;
}

function compileOr(input: unknown, path: string[], issues: FieldIssue[]): CompiledPattern[] {
  if (!Array.isArray(input) || input.length < 2) {
    issues.push({ path: path.join('.'), message: 'must be an array of at least two pattern objects' });
    return [];
  }
  const branches: readonly unknown[] = input;
  return branches.map((branch, index) => compileObject(branch, [...path, String(index)], issues, true));
}

function compileLeaf(values: readonly unknown[], path: string[], issues: FieldIssue[]): CompiledMatcher[] {
  if (values.length === 0) {
    issues.push({ path: path.join('.'), message: 'must not be an empty array' });
    return [];
  }
  const matchers: CompiledMatcher[] = [];
  for (const value of values) {
    const matcher = compileValue(value);
    if (isInvalid(matcher)) issues.push({ path: path.join('.'), message: matcher.invalid });
    else matchers.push(matcher);
  }
  return matchers;
}

function compileValue(value: unknown): CompiledMatcher | Invalid {
  if (isRecord(value)) return compileMatcher(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return invalid('numbers must be finite');
  if (isScalar(value)) return { kind: 'value', test: (candidate) => candidate === value };
  return invalid('values must be strings, numbers, booleans, null or matcher objects');
}

function compileMatcher(matcher: Readonly<Record<string, unknown>>): CompiledMatcher | Invalid {
  const keys = Object.keys(matcher);
  const [name] = keys;
  if (name === undefined || keys.length > 1) {
    return invalid(
      `a matcher object has exactly one key, got ${keys.length === 0 ? 'none' : keys.join(', ')}`,
    );
  }
  const operand = matcher[name];
  if (name === 'exists') {
    return typeof operand === 'boolean'
      ? { kind: 'exists', present: operand }
      : invalid('exists must be true or false');
  }
  const test = compileTest(name, operand);
  return isInvalid(test) ? test : { kind: 'value', test };
}

function compileTest(name: string, operand: unknown): LeafTest | Invalid {
  switch (name) {
    case 'prefix':
    case 'suffix':
      return compileAffix(name, operand);
    case 'equals-ignore-case':
      if (typeof operand !== 'string') return invalid('equals-ignore-case must be a string');
      return (value) => typeof value === 'string' && equalsIgnoringCase(value, operand);
    case 'wildcard': {
      if (typeof operand !== 'string') return invalid('wildcard must be a string');
      const wildcard = wildcardRegExp(operand);
      return isInvalid(wildcard) ? wildcard : (value) => typeof value === 'string' && wildcard.test(value);
    }
    case 'anything-but':
      return compileAnythingBut(operand);
    case 'numeric':
      return compileNumeric(operand);
    case 'cidr': {
      const block = typeof operand === 'string' ? parseCidr(operand) : undefined;
      if (block === undefined)
        return invalid('cidr must be an IPv4 or IPv6 CIDR block such as "10.0.0.0/24"');
      return (value) => typeof value === 'string' && inCidrBlock(value, block);
    }
    default:
      return invalid(`unknown matcher "${name}" (expected one of ${matcherNames.join(', ')})`);
  }
}

function compileAffix(name: 'prefix' | 'suffix', operand: unknown): LeafTest | Invalid {
  const affixed = name === 'prefix' ? startsWith : endsWith;
  if (typeof operand === 'string') return (value) => typeof value === 'string' && affixed(value, operand);
  if (isRecord(operand)) {
    const keys = Object.keys(operand);
    const text = operand['equals-ignore-case'];
    if (keys.length === 1 && typeof text === 'string') {
      const folded = foldCase(text);
      return (value) => typeof value === 'string' && affixed(foldCase(value), folded);
    }
  }
  return invalid(`${name} must be a string or {"equals-ignore-case": string}`);
}

const startsWith = (value: string, prefix: string) => value.startsWith(prefix);
const endsWith = (value: string, suffix: string) => value.endsWith(suffix);
// EventBridge folds case per character; lower-casing both sides is the same for all but a few scripts.
const foldCase = (text: string) => text.toLowerCase();
const equalsIgnoringCase = (a: string, b: string) => foldCase(a) === foldCase(b);

function compileAnythingBut(operand: unknown): LeafTest | Invalid {
  const shape =
    'anything-but takes a string, a number, a list of strings or of numbers, or one of prefix, suffix, equals-ignore-case, wildcard';
  if (isRecord(operand)) return compileAnythingButString(operand, shape);
  const values: readonly unknown[] = Array.isArray(operand) ? operand : [operand];
  if (values.length === 0) return invalid('anything-but needs at least one value');
  if (values.every((value) => typeof value === 'string')) {
    const excluded = new Set(values);
    return (value) => !(typeof value === 'string' && excluded.has(value));
  }
  if (values.every((value) => typeof value === 'number')) {
    const outOfRange = values.find((value) => numericLimitProblem(value) !== undefined);
    if (outOfRange !== undefined) return invalid(`anything-but: ${numericLimitProblem(outOfRange)}`);
    const excluded = new Set(values);
    return (value) => !(typeof value === 'number' && excluded.has(value));
  }
  return invalid(Array.isArray(operand) ? 'anything-but lists must be all strings or all numbers' : shape);
}

const anythingButStringMatchers = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'];

/** anything-but {prefix | suffix | equals-ignore-case | wildcard}: only strings can be excluded, so other values pass. */
function compileAnythingButString(
  operand: Readonly<Record<string, unknown>>,
  shape: string,
): LeafTest | Invalid {
  const keys = Object.keys(operand);
  const [name] = keys;
  if (name === undefined || keys.length > 1 || !anythingButStringMatchers.includes(name))
    return invalid(shape);
  const given = operand[name];
  const texts: readonly unknown[] = Array.isArray(given) ? given : [given];
  if (texts.length === 0 || !texts.every((text) => typeof text === 'string')) {
    return invalid(`anything-but ${name} takes a string or a non-empty list of strings`);
  }
  if (texts.includes('') && (name === 'prefix' || name === 'suffix')) {
    return invalid(`anything-but ${name} must not be empty`);
  }
  const excluded: LeafTest[] = [];
  for (const text of texts) {
    const test = compileTest(name, text);
    if (isInvalid(test)) return invalid(`anything-but ${test.invalid}`);
    excluded.push(test);
  }
  return (value) => !excluded.some((test) => test(value));
}

const numericOperators = new Set<string>(['=', '<', '<=', '>', '>=']);
type Comparison = { operator: string; bound: number };

function compileNumeric(operand: unknown): LeafTest | Invalid {
  if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4) {
    return invalid('numeric needs operator/value pairs, e.g. [">", 0, "<=", 5]');
  }
  const terms: readonly unknown[] = operand;
  const comparisons: Comparison[] = [];
  for (let i = 0; i < terms.length; i += 2) {
    const operator = terms[i];
    const bound = terms[i + 1];
    if (typeof operator !== 'string' || !numericOperators.has(operator)) {
      return invalid(`numeric operator must be one of =, <, <=, >, >=, got ${JSON.stringify(operator)}`);
    }
    if (typeof bound !== 'number') return invalid(`numeric value after "${operator}" must be a number`);
    const problem = numericLimitProblem(bound);
    if (problem !== undefined) return invalid(`numeric: ${problem}`);
    comparisons.push({ operator, bound });
  }
  const [lower, upper] = comparisons;
  if (upper !== undefined && lower !== undefined) {
    if (!['>', '>='].includes(lower.operator) || !['<', '<='].includes(upper.operator)) {
      return invalid('a numeric range is a lower bound (> or >=) followed by an upper bound (< or <=)');
    }
    if (lower.bound >= upper.bound)
      return invalid('numeric range: the lower bound must be below the upper bound');
  }
  return (value) =>
    typeof value === 'number' &&
    Math.abs(value) <= NUMERIC_LIMIT &&
    comparisons.every((c) => compare(value, c));
}

function compare(value: number, { operator, bound }: Comparison): boolean {
  switch (operator) {
    case '=':
      return value === bound;
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    default:
      return value >= bound;
  }
}

/** EventBridge compares numbers in ±5e9 with six decimal places; an event value beyond ±5e9 is not numeric. */
const NUMERIC_LIMIT = 5e9;

function numericLimitProblem(value: number): string | undefined {
  if (!Number.isFinite(value) || Math.abs(value) > NUMERIC_LIMIT)
    return 'values must be between -5e9 and 5e9';
  const [mantissa = '', exponent = '0'] = Math.abs(value).toString().split('e');
  const decimals = (mantissa.split('.')[1] ?? '').length - Number(exponent);
  return decimals > 6 ? 'values may have at most 6 decimal places' : undefined;
}

/** `*` is any run of characters, `\*` a literal star and `\\` a literal backslash. */
function wildcardRegExp(wildcard: string): RegExp | Invalid {
  let source = '';
  for (let i = 0; i < wildcard.length; i++) {
    const char = wildcard.charAt(i);
    if (char === '*') {
      if (wildcard.charAt(i + 1) === '*') return invalid('wildcard must not have consecutive "*"');
      source += '.*';
    } else if (char === '\\') {
      const escaped = wildcard.charAt(i + 1);
      if (escaped !== '*' && escaped !== '\\')
        return invalid('wildcard may only escape "*" and "\\" with "\\"');
      source += `\\${escaped}`;
      i++;
    } else {
      source += char.replace(/[\\^$.*+?()[\]{}|/]/, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 's');
}

// ------------------------------------------------------------------------------------------------- CIDR

interface CidrBlock {
  version: 4 | 6;
  /** Address bits above the prefix length, i.e. the address shifted right by `shift`. */
  network: bigint;
  shift: bigint;
}

function parseCidr(text: string): CidrBlock | undefined {
  const [address = '', length, ...rest] = text.split('/');
  if (length === undefined || rest.length > 0 || !/^\d{1,3}$/.test(length)) return undefined;
  const ip = parseIp(address);
  const bits = ip?.version === 4 ? 32 : 128;
  if (ip === undefined || Number(length) > bits) return undefined;
  const shift = BigInt(bits - Number(length));
  return { version: ip.version, network: ip.value >> shift, shift };
}

function inCidrBlock(text: string, block: CidrBlock): boolean {
  const ip = parseIp(text);
  return ip !== undefined && ip.version === block.version && ip.value >> block.shift === block.network;
}

function parseIp(text: string): { version: 4 | 6; value: bigint } | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { version: 4, value: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { version: 6, value: v6 };
}

function parseIpv4(text: string): bigint | undefined {
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)?.slice(1);
  if (octets === undefined || octets.some((octet) => Number(octet) > 255)) return undefined;
  return octets.reduce((value, octet) => (value << 8n) | BigInt(octet), 0n);
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const [head = [], tail = []] = halves.map(groupsOf);
  const elided = 8 - head.length - tail.length;
  if (halves.length === 2 ? elided < 1 : elided !== 0) return undefined;
  const groups = [...head, ...Array.from({ length: halves.length === 2 ? elided : 0 }, () => '0'), ...tail];
  if (!groups.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return undefined;
  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

// ------------------------------------------------------------------------------------------------ matching

function matchesAt(pattern: CompiledPattern, value: unknown): boolean {
  const objects = flatten(value).filter(isRecord);
  // A missing or scalar parent has no fields: only `exists: false` can match beneath it.
  return (objects.length > 0 ? objects : [{}]).some((object) => matchesObject(pattern, object));
}

function matchesObject(pattern: CompiledPattern, object: Readonly<Record<string, unknown>>): boolean {
  const fieldsMatch = pattern.fields.every((field) => {
    const value = Object.hasOwn(object, field.key) ? object[field.key] : undefined;
    if (field.kind === 'nested') return matchesAt(field.pattern, value);
    const leaves = flatten(value).filter(isScalar);
    const present = leaves.length > 0;
    return field.matchers.some((matcher) =>
      matcher.kind === 'exists' ? matcher.present === present : leaves.some(matcher.test),
    );
  });
  return (
    fieldsMatch && (pattern.anyOf === null || pattern.anyOf.some((branch) => matchesObject(branch, object)))
  );
}

function flatten(value: unknown): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [value];
  const items: readonly unknown[] = value;
  return items.flatMap(flatten);
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is PatternScalar {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}
