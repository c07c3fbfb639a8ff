export { embeddedIpv4, isPublicAddress, nonPublicRange } from './addresses';
export {
  parseWebhookAllowlist,
  WEBHOOK_ALLOW_VARIABLE,
  WebhookAllowlist,
  type WebhookDestination,
} from './allowlist';
export { type BackoffPolicy, backoffDelayMs, parseRetryAfter } from './retry';
export {
  type HostResolver,
  HttpWebhookSender,
  type HttpWebhookSenderInit,
  type HttpWebhookSenderOptions,
  WEBHOOK_BODY_LIMIT_BYTES,
} from './sender';
export { signatureHeaders, signingKey, webhookMessageId } from './signature';
