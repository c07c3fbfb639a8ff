import type { HookRunResult } from '@stagehooks/core/domain';

/** A hook run that passed in 10 ms, as an executor returns it. */
export function hookResult(overrides: Partial<HookRunResult> = {}): HookRunResult {
  return {
    status: 'passed',
    exitCode: 0,
    stdout: 'ok',
    stderr: '',
    responseStatus: null,
    responseBody: null,
    errorMessage: null,
    truncated: false,
    startedAt: '2026-11-20T12:00:00.000Z',
    finishedAt: '2026-11-20T12:00:00.010Z',
    durationMs: 10,
    ...overrides,
  };
}
