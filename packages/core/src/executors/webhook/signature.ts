import { createHmac } from 'node:crypto';
import { SigningSecret } from '../../domain';

/** The HMAC key of a `whsec_<base64>` secret, or undefined when the secret is not in that form. */
export function signingKey(signingSecret: string): Buffer | undefined {
  if (!SigningSecret.safeParse(signingSecret).success) return undefined;
  return Buffer.from(signingSecret.slice('whsec_'.length), 'base64');
}

/** Same for every retry of one invocation, so a receiver can de-duplicate deliveries. */
export const webhookMessageId = (invocationId: string) => `msg_${invocationId}`;

/**
 * Standard Webhooks headers for one delivery attempt: the signature covers `id.timestamp.body`, and the
 * timestamp is the attempt's, so receivers that reject stale messages accept a late retry.
 */
export function signatureHeaders(
  messageId: string,
  timestamp: Date,
  body: string,
  key: Buffer,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const seconds = Math.floor(timestamp.getTime() / 1000);
  const signature = createHmac('sha256', key).update(`${messageId}.${seconds}.${body}`).digest('base64');
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(seconds),
    'webhook-signature': `v1,${signature}`,
  };
}
