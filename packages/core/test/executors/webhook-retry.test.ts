import {
  backoffDelayMs,
  parseRetryAfter,
  signatureHeaders,
  signingKey,
} from '@stagehooks/core/executors/webhook';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newSigningSecret } from './webhook-fixtures';

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');

  it.each([
    ['2', 2000],
    [' 0 ', 0],
    ['Sun, 01 Jun 2025 12:00:30 GMT', 30_000],
    // A date in the past means "now", not a negative wait.
    ['Sun, 01 Jun 2025 11:59:00 GMT', 0],
  ])('reads %j as %i ms', (value, ms) => {
    // Act / Assess
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it.each([undefined, '', 'soon', '-5', '1.5'])('ignores %j', (value) => {
    // Act / Assess
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('backoffDelayMs', () => {
  const policy = { retryBaseDelayMs: 100, retryMaxDelayMs: 1000 };

  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1000],
    [9, 1000],
  ])('retry %i waits up to %i ms, capped', (retry, ceiling) => {
    // Act
    const longest = backoffDelayMs(retry, policy, () => 0.999_999);
    const shortest = backoffDelayMs(retry, policy, () => 0);

    // Assess
    expect(longest).toBe(ceiling - 1);
    expect(shortest).toBe(0);
  });
});

describe('signatureHeaders', () => {
  it('produces what standardwebhooks signs and verifies', () => {
    // Prepare
    const secret = newSigningSecret();
    const key = signingKey(secret);
    if (!key) throw new Error('fixture secret must be valid');
    const at = new Date();
    const body = JSON.stringify({ jobId: 'job-42', note: 'ünïcode ✓' });

    // Act
    const headers = signatureHeaders('msg_1', at, body, key);

    // Assess
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign('msg_1', at, body));
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('has no key for a secret that is not whsec_ base64', () => {
    // Act / Assess
    expect(signingKey('whsec_short')).toBeUndefined();
    expect(signingKey('secret')).toBeUndefined();
  });
});
