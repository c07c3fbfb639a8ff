/**
 * A webhook's `bodyTemplate`: a JSON value whose strings may hold `{{path}}` placeholders, looked up in
 * the hook input. The body is built as a JSON value and serialized once, so a value can never leave its
 * string or add a key; nothing is evaluated. What renders how: docs/api.md, "Body templates".
 */
import { z } from 'zod';
import type { JsonValue } from './json';
import { HookInput } from './stage-event';

/** How large a template may be as JSON; the body it renders to is bounded when it is sent. */
export const BODY_TEMPLATE_LIMIT_BYTES = 16 * 1024;

/** A `{{ path }}` as written: `raw` is the text between the braces. */
interface Placeholder {
  raw: string;
  /** The path's segments; empty when the placeholder is empty or no path. */
  path: string[];
}

/** A template string cut into literal text and placeholders, and what is wrong with it (for saving). */
interface ParsedString {
  parts: Array<string | Placeholder>;
  problems: string[];
}

/** A segment is any run of characters but `.`, whitespace and braces: hook names and metadata keys fit. */
const segment = /^[^.\s{}]+$/u;

function placeholderOf(raw: string): Placeholder {
  const trimmed = raw.trim();
  const path = trimmed.split('.');
  return { raw, path: trimmed !== '' && path.every((s) => segment.test(s)) ? path : [] };
}

/**
 * Cuts `text` at each `{{ … }}`. `\{{` is a literal `{{` (the only escape); a `{{` without a closing
 * `}}` stays text, and is a problem when the template is saved.
 */
function parseString(text: string): ParsedString {
  const parts: Array<string | Placeholder> = [];
  const problems: string[] = [];
  let literal = '';
  let from = 0;
  for (;;) {
    const open = text.indexOf('{{', from);
    if (open === -1) break;
    if (open > from && text[open - 1] === '\\') {
      literal += `${text.slice(from, open - 1)}{{`;
      from = open + 2;
      continue;
    }
    const close = text.indexOf('}}', open + 2);
    if (close === -1) {
      problems.push(
        `unterminated placeholder: the "{{" at character ${open + 1} has no closing "}}" (write \\{{ for a literal "{{")`,
      );
      break;
    }
    literal += text.slice(from, open);
    if (literal !== '') parts.push(literal);
    literal = '';
    const placeholder = placeholderOf(text.slice(open + 2, close));
    parts.push(placeholder);
    from = close + 2;
  }
  literal += text.slice(from);
  if (literal !== '') parts.push(literal);
  return { parts, problems };
}

/** What a hook-input field holds, as far as a path into it goes. */
type FieldKind = 'value' | 'open' | { keys: readonly string[] };

/**
 * The hook-input fields a placeholder may start at, read off the HookInput schema: a value (`jobId`),
 * an object of any keys (`metadata`) or of known ones (`hook`).
 */
function hookInputFields(): Map<string, FieldKind> {
  const schema = z.toJSONSchema(HookInput, { io: 'output', unrepresentable: 'any' });
  const fields = new Map<string, FieldKind>();
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (typeof property !== 'object') continue;
    if (property.properties) fields.set(name, { keys: Object.keys(property.properties) });
    else fields.set(name, property.type === 'object' ? 'open' : 'value');
  }
  // The stage's verdict so far, which the hook input is about to carry.
  if (!fields.has('verdict')) fields.set('verdict', 'value');
  return fields;
}

let knownFields: { fields: Map<string, FieldKind>; listed: string } | undefined;
/** Worked out on first use: the JSON Schema conversion is not a cost every cold start should pay. */
function known() {
  if (knownFields) return knownFields;
  const fields = hookInputFields();
  const listed = [...fields]
    .flatMap(([name, kind]) =>
      kind === 'value' ? [name] : kind === 'open' ? [`${name}.<key>…`] : kind.keys.map((k) => `${name}.${k}`),
    )
    .join(', ');
  knownFields = { fields, listed };
  return knownFields;
}

function startsAtKnownField(path: readonly string[]): boolean {
  const [name, next, ...rest] = path;
  const kind = name === undefined ? undefined : known().fields.get(name);
  if (kind === undefined) return false;
  if (next === undefined || kind === 'open') return true;
  return kind !== 'value' && kind.keys.includes(next) && rest.length === 0;
}

function placeholderProblem(placeholder: Placeholder): string | undefined {
  const written = `{{${placeholder.raw}}}`;
  if (placeholder.raw.trim() === '')
    return `empty placeholder ${written}: name a hook-input field, e.g. {{jobId}}`;
  if (placeholder.path.length === 0)
    return `invalid placeholder ${written}: a path is keys and array indexes joined by "." (metadata.files.0), without spaces or braces`;
  if (!startsAtKnownField(placeholder.path))
    return `unknown placeholder ${written}: a placeholder names a hook-input field (${known().listed})`;
  return undefined;
}

/** One thing wrong with a template, at its place in it (keys and indexes from the template's root). */
export interface BodyTemplateIssue {
  path: Array<string | number>;
  message: string;
}

/**
 * Why `template` cannot be saved, one issue per bad placeholder or unterminated `{{`, each at the
 * string that holds it; empty when it can. Only strings are looked at: object keys are never rendered.
 * For a template known to nest within the JSON depth bound.
 */
export function bodyTemplateIssues(template: JsonValue): BodyTemplateIssue[] {
  const issues: BodyTemplateIssue[] = [];
  const visit = (value: JsonValue, path: Array<string | number>) => {
    if (typeof value === 'string') {
      const { parts, problems } = parseString(value);
      for (const part of parts) {
        const problem = typeof part === 'string' ? undefined : placeholderProblem(part);
        if (problem) issues.push({ path, message: problem });
      }
      for (const message of problems) issues.push({ path, message });
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => {
        visit(item, [...path, index]);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
    }
  };
  visit(template, []);
  return issues;
}

const arrayIndex = /^(0|[1-9][0-9]*)$/;
const MISSING = Symbol('missing');

/** The value at `path` in `input`, through own keys and array indexes only; MISSING when there is none. */
function valueAt(input: unknown, path: readonly string[]): unknown {
  let value = input;
  for (const key of path) {
    if (Array.isArray(value)) {
      if (!arrayIndex.test(key) || Number(key) >= value.length) return MISSING;
      value = value[Number(key)];
    } else if (typeof value === 'object' && value !== null && Object.hasOwn(value, key)) {
      value = (value as Record<string, unknown>)[key];
    } else return MISSING;
  }
  return value === undefined ? MISSING : value;
}

function renderString(text: string, input: HookInput): unknown {
  const { parts } = parseString(text);
  const [only] = parts;
  // A string that is one placeholder and nothing else becomes the value itself, of its own JSON type.
  if (parts.length === 1 && typeof only === 'object') {
    const value = valueAt(input, only.path);
    return value === MISSING ? null : value;
  }
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const value = part.path.length === 0 ? MISSING : valueAt(input, part.path);
      if (value === MISSING) return '';
      return typeof value === 'string' ? value : JSON.stringify(value);
    })
    .join('');
}

/**
 * `template` with every string's placeholders filled in from `input`: a string that is exactly one
 * placeholder becomes the value (null when missing); one inside longer text inserts a string as it is and
 * any other value as its JSON text (nothing when missing). Inserted text is never expanded again. Keys
 * are copied as they are, `__proto__` too (as an own key).
 */
export function renderBodyTemplate(template: JsonValue, input: HookInput): unknown {
  if (typeof template === 'string') return renderString(template, input);
  if (Array.isArray(template)) return template.map((item) => renderBodyTemplate(item, input));
  if (template !== null && typeof template === 'object')
    // fromEntries defines each key, so a `__proto__` key stays a key instead of setting a prototype.
    return Object.fromEntries(
      Object.entries(template).map(([key, value]) => [key, renderBodyTemplate(value, input)]),
    );
  return template;
}

/** The JSON text a webhook sends for `input`: its rendered `bodyTemplate`, or without one the input itself. */
export function webhookBody(bodyTemplate: JsonValue | undefined, input: HookInput): string {
  return JSON.stringify(bodyTemplate === undefined ? input : renderBodyTemplate(bodyTemplate, input));
}
