import { Attempt } from '@stagehooks/core/engine';
import { describe, expect, it } from 'vitest';
import { fitAttempt } from '../../src/engine';

function attemptWith(result: {
  stdout: string | null;
  stderr: string | null;
  responseBody?: string | null;
}): Attempt {
  return Attempt.parse({
    hookRevision: 1,
    result: {
      status: 'failed',
      exitCode: 1,
      responseStatus: null,
      responseBody: null,
      errorMessage: null,
      truncated: false,
      startedAt: '2026-11-20T12:00:00.000Z',
      finishedAt: '2026-11-20T12:00:01.000Z',
      durationMs: 1000,
      ...result,
    },
  });
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');
const resultOf = (attempt: Attempt) => {
  if (!('result' in attempt)) throw new Error('expected a run attempt');
  return attempt.result;
};

describe('fitAttempt', () => {
  it('leaves an attempt that fits untouched', () => {
    // Prepare
    const attempt = attemptWith({ stdout: 'ok\n', stderr: '' });

    // Act
    const fitted = fitAttempt(attempt, 4096);

    // Assess
    expect(fitted).toBe(attempt);
  });

  it('cuts stdout and stderr to fit, keeps their heads, sets truncated and stays a valid Attempt', () => {
    // Prepare: control characters take six bytes each in JSON, so the raw length alone would not fit.
    const attempt = attemptWith({
      stdout: `head-out ${'\u0001'.repeat(20_000)}`,
      stderr: `head-err ${'é'.repeat(20_000)}`,
    });

    // Act
    const fitted = fitAttempt(attempt, 16_384);

    // Assess
    expect(jsonBytes(fitted)).toBeLessThanOrEqual(16_384);
    expect(jsonBytes(fitted)).toBeGreaterThan(16_000);
    const result = resultOf(Attempt.parse(fitted));
    expect(result.truncated).toBe(true);
    expect(result.stdout?.startsWith('head-out ')).toBe(true);
    expect(result.stderr?.startsWith('head-err ')).toBe(true);
  });

  it('lets a short field keep all of itself and gives the room it leaves to the long one', () => {
    // Prepare
    const attempt = attemptWith({ stdout: 'x'.repeat(50_000), stderr: 'warning: slow disk\n' });

    // Act
    const result = resultOf(fitAttempt(attempt, 8_192));

    // Assess
    expect(result.stderr).toBe('warning: slow disk\n');
    expect(result.stdout?.length).toBeGreaterThan(7_000);
  });

  it('never splits a surrogate pair', () => {
    // Prepare
    const attempt = attemptWith({ stdout: '🎬'.repeat(10_000), stderr: null });

    // Act
    const result = resultOf(fitAttempt(attempt, 4_096));

    // Assess
    expect(result.stdout).toMatch(/^(🎬)+$/u);
  });
});
