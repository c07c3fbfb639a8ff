import { jsonBytes } from '@stagehooks/core/domain';
import type { Attempt } from '@stagehooks/core/engine';

/**
 * The most an Attempt may take in the state machine's data. Step Functions refuses state data over
 * 256 KiB with States.DataLimitExceeded, which no Catch handles: the execution would fail without a
 * verdict. The Attempt shares that budget with the stage (twice), the plan and the results so far.
 */
export const ATTEMPT_BUDGET_BYTES = 128 * 1024;

const capturedFields = ['stdout', 'stderr', 'responseBody'] as const;
type CapturedField = (typeof capturedFields)[number];

/** Bytes a string takes inside JSON, escapes included, without its quotes. */
const encodedBytes = (text: string) => jsonBytes(text) - 2;

/** The longest head of `text` whose JSON encoding fits in `maxBytes`, never splitting a surrogate pair. */
function headWithin(text: string, maxBytes: number): string {
  if (encodedBytes(text) <= maxBytes) return text;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (encodedBytes(text.slice(0, middle)) <= maxBytes) low = middle;
    else high = middle - 1;
  }
  const code = text.charCodeAt(low - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? low - 1 : low);
}

/**
 * The Attempt as it may travel through Step Functions: unchanged when it fits in `maxBytes` of JSON,
 * else with stdout, stderr and the response body cut (their heads kept, fairly shared) and `truncated`
 * set. The log then holds what fitted, not the full 64 KiB per field.
 */
export function fitAttempt(attempt: Attempt, maxBytes: number = ATTEMPT_BUDGET_BYTES): Attempt {
  if ('runnerError' in attempt || jsonBytes(attempt) <= maxBytes) return attempt;
  const result = { ...attempt.result, truncated: true };
  const present = capturedFields
    .filter((field): field is CapturedField => (result[field] ?? '') !== '')
    .sort((a, b) => encodedBytes(result[a] ?? '') - encodedBytes(result[b] ?? ''));
  for (const field of present) result[field] = '';
  let room = Math.max(0, maxBytes - jsonBytes({ ...attempt, result }));
  const original = attempt.result;
  // Smallest first: a short field keeps all of itself and leaves its unused share to the larger ones.
  for (const [index, field] of present.entries()) {
    const share = Math.floor(room / (present.length - index));
    const kept = headWithin(original[field] ?? '', share);
    result[field] = kept;
    room -= encodedBytes(kept);
  }
  return { ...attempt, result };
}
