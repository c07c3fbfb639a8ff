/** Bounds of the exponential backoff between attempts. */
export interface BackoffPolicy {
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
}

/**
 * Full jitter: a random wait up to base * 2^(retry - 1), capped, so many hooks failing against one
 * receiver do not come back in lockstep. `retry` is 1 before the second attempt.
 */
export function backoffDelayMs(
  retry: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.retryMaxDelayMs, policy.retryBaseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/** A `Retry-After` header (seconds or an HTTP-date) as milliseconds from `nowMs`; undefined if unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // HTTP-dates name the day and month; without letters Date.parse would take "1.5" or "-5" as dates.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
