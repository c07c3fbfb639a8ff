import type { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors';

/** Per-parse wording: a missing field says so rather than "expected string, received undefined". */
const parseOptions: z.core.ParseContext<z.core.$ZodIssue> = {
  error: (issue) =>
    (issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined
      ? 'is required'
      : undefined,
};

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // One entry per unknown key, named by its own path, so a client can point at the field.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: 'is not a known field' }));
    }
    // A bad record key: report the key's own rule, not zod's generic wrapper.
    if (issue.code === 'invalid_key') {
      return issue.issues.map((inner) => ({ path: path.join('.'), message: inner.message }));
    }
    return [{ path: path.join('.'), message: issue.message }];
  });
}

export type ParseResult<T> = { success: true; data: T } | { success: false; issues: FieldIssue[] };

export function safeParseFields<S extends z.ZodType>(schema: S, input: unknown): ParseResult<z.output<S>> {
  const result = schema.safeParse(input, parseOptions);
  return result.success
    ? { success: true, data: result.data }
    : { success: false, issues: fieldIssues(result.error) };
}

/** Parses `input` or throws a ValidationError naming every offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(input, parseOptions);
  if (!result.success) throw new ValidationError(subject, fieldIssues(result.error), { cause: result.error });
  return result.data;
}
