import { z } from 'zod';

/** What running a hook once produced, before the engine applies the failure mode. */
export const HookRunResult = z.object({
  status: z.enum(['passed', 'failed', 'timed_out', 'error']),
  exitCode: z.int().nullable(),
  stdout: z.string().nullable(),
  stderr: z.string().nullable(),
  responseStatus: z.int().nullable(),
  responseBody: z.string().nullable(),
  errorMessage: z.string().nullable(),
  /** From a script's last stdout line or a webhook's JSON body: `{ status?, message?, data?, patch? }`. */
  message: z.string().optional(),
  /** What the hook hands on; checked by `checkedOutput` before the engine takes it (hook-output.ts). */
  data: z.unknown().optional(),
  patch: z.unknown().optional(),
  /** True when captured output was cut at the capture limit. */
  truncated: z.boolean(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().min(0),
});
export type HookRunResult = z.output<typeof HookRunResult>;

/** A run that ended in `error` before it produced anything: no exit code, no output, no answer. */
export function errorWithoutOutput(errorMessage: string | null) {
  return {
    status: 'error',
    exitCode: null,
    stdout: null,
    stderr: null,
    responseStatus: null,
    responseBody: null,
    errorMessage,
    truncated: false,
  } as const satisfies Omit<HookRunResult, 'startedAt' | 'finishedAt' | 'durationMs'>;
}
