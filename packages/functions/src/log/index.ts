import { ValidationError } from '@stagehooks/core/errors';

/**
 * One JSON line per entry on stdout (CloudWatch Logs reads it as structured). Callers pass ids, names
 * and error names, never secret values or task tokens.
 */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

type Level = 'INFO' | 'WARN' | 'ERROR';

/** An error as a log field: name, message and the cause's name, without the stack's noise. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  // A ValidationError's message already lists every issue its cause (a ZodError) holds.
  const cause =
    error.cause instanceof Error && !(error instanceof ValidationError)
      ? { cause: `${error.cause.name}: ${error.cause.message}` }
      : {};
  return { error: error.name, errorMessage: error.message, ...cause };
}

export function jsonLogger(
  service: string,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const entry =
    (level: Level) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      write(JSON.stringify({ timestamp: new Date().toISOString(), level, service, message, ...fields }));
  return { info: entry('INFO'), warn: entry('WARN'), error: entry('ERROR') };
}

/** For tests and callers that want silence. */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
