import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { HookRunResult } from '../../domain';
import {
  type HookInput,
  isJsonObject,
  type JsonValue,
  jsonTooDeepAt,
  MAX_JSON_DEPTH,
  tooDeepMessage,
  webhookBody,
} from '../../domain';
import type { SecretResolver, WebhookHook, WebhookSender } from '../../ports';
import { nonPublicRange } from './addresses';
import { WEBHOOK_ALLOW_VARIABLE, WebhookAllowlist } from './allowlist';
import { type DeliveryOutcome, deliverOnce, networkReason } from './http-delivery';
import { type BackoffPolicy, backoffDelayMs, parseRetryAfter } from './retry';
import { signatureHeaders, signingKey, webhookMessageId } from './signature';

/** Turns a host name into every address it has; the sender checks them all before connecting. */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

export interface HttpWebhookSenderOptions extends BackoffPolicy {
  /** Resolves `config.auth.secretRef`. */
  secrets: SecretResolver;
  /** Non-public destinations to allow: what `parseWebhookAllowlist` makes of STAGEHOOKS_WEBHOOK_ALLOW. */
  allow: readonly string[];
  /** Defaults to the system resolver (`dns.lookup`, all addresses). */
  resolveHost: HostResolver;
  userAgent: string;
}

export type HttpWebhookSenderInit = Pick<HttpWebhookSenderOptions, 'secrets'> &
  Partial<Omit<HttpWebhookSenderOptions, 'secrets'>>;

const systemResolveHost: HostResolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

const defaultOptions = {
  allow: [],
  retryBaseDelayMs: 500,
  retryMaxDelayMs: 5_000,
  resolveHost: systemResolveHost,
  userAgent: 'stagehooks-webhook/1',
} satisfies Omit<HttpWebhookSenderOptions, 'secrets'>;

/** Headers the sender owns; an auth header of one of these names would be overwritten or break framing. */
const senderHeaders = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'host',
  'connection',
  'transfer-encoding',
]);

/** When the hook sets no `retry`: the same default as the hook schema's. */
const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * What a 2xx JSON body may say to refine the result; anything else in it is ignored. `data` and `patch`
 * pass through as given: the engine checks them (`checkedOutput`).
 */
const WebhookReport = z.object({
  status: z.string().optional().catch(undefined),
  message: z.string().optional().catch(undefined),
  data: z.unknown().optional(),
  patch: z.unknown().optional(),
});

/** The outcome of one attempt, or why it was not made. */
type AttemptOutcome = DeliveryOutcome | { kind: 'refused'; message: string };

/** A problem found before any attempt: the hook cannot be sent as configured. */
class UnsendableHook {
  constructor(
    readonly status: 'error' | 'timed_out',
    readonly message: string,
  ) {}
}

/** The whole-run budget: `timeoutSeconds` covers DNS, secrets, every attempt and the waits between them. */
class RunBudget {
  readonly startedAt = new Date();
  readonly #start = performance.now();
  readonly #deadline: number;

  constructor(readonly seconds: number) {
    this.#deadline = this.#start + seconds * 1000;
  }

  remainingMs(): number {
    return Math.max(0, this.#deadline - performance.now());
  }

  elapsedMs(): number {
    return Math.round(performance.now() - this.#start);
  }

  /** `work`'s value, or undefined when the budget runs out first (the work finishes unobserved). */
  async race<T>(work: Promise<T>): Promise<{ value: T } | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, this.remainingMs(), undefined);
    });
    try {
      return await Promise.race([work.then((value) => ({ value })), expiry]);
    } finally {
      clearTimeout(timer);
    }
  }
}

interface Target {
  url: URL;
  /** Lower case, without the brackets of an IPv6 literal. */
  hostname: string;
  port: number;
}

const nodeHeaderCheck = (name: string, value: string) => {
  try {
    http.validateHeaderName(name);
    http.validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
};

function targetOf(rawUrl: string): Target | UnsendableHook {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return new UnsendableHook('error', 'refused: the webhook URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return new UnsendableHook('error', `refused: scheme "${url.protocol.slice(0, -1)}" is not http or https`);
  }
  if (url.username || url.password) {
    // Credentials belong in `auth` with a secretRef, where they stay out of the registry and the logs.
    return new UnsendableHook(
      'error',
      'refused: the webhook URL carries credentials; use auth with a secretRef instead',
    );
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { url, hostname, port };
}

/** Fixed part of a delivery: everything but the per-attempt body and signature. */
interface PreparedDelivery {
  target: Target;
  method: string;
  input: HookInput;
  bodyTemplate: JsonValue | undefined;
  headers: Record<string, string>;
  messageId: string;
  key: Buffer;
  /** Secret values and their encodings, cut out of anything the receiver sends back. */
  secretValues: string[];
}

/** Bounded, redacted text for the log: a receiver may echo what it got, secrets included. */
function redact(text: string, secretValues: readonly string[]): string {
  return secretValues.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
}

/**
 * The body of attempt `attempt` (1 for the first): the hook input with its `attempt` set, so a receiver
 * can tell a retry from a first delivery (the `webhook-id` is the same for every attempt), or the
 * `bodyTemplate` rendered from that input (a template that holds `{{attempt}}` says which one it is).
 */
function bodyOf(delivery: PreparedDelivery, attempt: number): string {
  const { input } = delivery;
  return webhookBody(delivery.bodyTemplate, input.attempt === attempt ? input : { ...input, attempt });
}

/**
 * The most a rendered body may be: a template of 16 KiB that repeats large input fields would
 * otherwise send megabytes. A hook input itself stays well within it.
 */
export const WEBHOOK_BODY_LIMIT_BYTES = 256 * 1024;

const isRetryable = (outcome: AttemptOutcome) =>
  outcome.kind === 'network' ||
  (outcome.kind === 'response' && (outcome.status === 429 || outcome.status >= 500));

/**
 * Delivers webhook hooks over HTTP(S), signed per Standard Webhooks, within the hook's time budget and
 * only to public addresses (or allowlisted ones). Reuses connections; call `close()` when done.
 */
export class HttpWebhookSender implements WebhookSender {
  readonly #options: HttpWebhookSenderOptions;
  readonly #allowlist: WebhookAllowlist;
  readonly #httpAgent = new http.Agent({ keepAlive: true });
  readonly #httpsAgent = new https.Agent({ keepAlive: true });

  /** Throws a ValidationError when an `allow` entry is malformed. */
  constructor(options: HttpWebhookSenderInit) {
    // Field by field, so an explicit `undefined` (e.g. an unset environment variable) keeps the default.
    this.#options = {
      secrets: options.secrets,
      allow: options.allow ?? defaultOptions.allow,
      retryBaseDelayMs: options.retryBaseDelayMs ?? defaultOptions.retryBaseDelayMs,
      retryMaxDelayMs: options.retryMaxDelayMs ?? defaultOptions.retryMaxDelayMs,
      resolveHost: options.resolveHost ?? defaultOptions.resolveHost,
      userAgent: options.userAgent ?? defaultOptions.userAgent,
    };
    this.#allowlist = new WebhookAllowlist(this.#options.allow);
  }

  async send(hook: WebhookHook, input: HookInput, signingSecret: string): Promise<HookRunResult> {
    const budget = new RunBudget(hook.config.timeoutSeconds);
    const prepared = await this.#prepare(hook, input, signingSecret, budget);
    if (prepared instanceof UnsendableHook) {
      return this.#result(budget, {
        status: prepared.status,
        responseStatus: null,
        responseBody: null,
        errorMessage: prepared.message,
        truncated: false,
      });
    }

    const maxAttempts = hook.config.retry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const attempts: AttemptOutcome[] = [];
    let stopNote: string | undefined;
    for (;;) {
      const outcome = await this.#attempt(prepared, attempts.length + 1, budget);
      attempts.push(outcome);
      if (!isRetryable(outcome) || attempts.length >= maxAttempts) break;
      const retryAfterMs =
        outcome.kind === 'response'
          ? parseRetryAfter(headerText(outcome.headers['retry-after']), Date.now())
          : undefined;
      const waitMs = retryAfterMs ?? backoffDelayMs(attempts.length, this.#options);
      // A wait that uses up the budget would only turn a clear answer into a timeout.
      if (waitMs >= budget.remainingMs()) {
        stopNote =
          retryAfterMs === undefined
            ? 'no budget left for another attempt'
            : `Retry-After of ${Math.ceil(retryAfterMs / 1000)} s does not fit in the remaining budget`;
        break;
      }
      await sleep(waitMs);
    }
    return this.#resultOf(budget, prepared, attempts, stopNote);
  }

  /** Ends every kept-alive connection. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  async #prepare(
    hook: WebhookHook,
    input: HookInput,
    signingSecret: string,
    budget: RunBudget,
  ): Promise<PreparedDelivery | UnsendableHook> {
    const target = targetOf(hook.config.url);
    if (target instanceof UnsendableHook) return target;
    const key = signingKey(signingSecret);
    if (!key) {
      return new UnsendableHook(
        'error',
        'the signing secret is not a Standard Webhooks secret ("whsec_" + base64)',
      );
    }
    const messageId = webhookMessageId(input.invocationId);
    if (!nodeHeaderCheck('webhook-id', messageId)) {
      return new UnsendableHook('error', 'the invocation id cannot be sent in the webhook-id header');
    }
    // Lower case, so a configured `Authorization` is replaced by the auth header rather than sent beside it.
    const configured: Record<string, string> = Object.fromEntries(
      Object.entries(hook.config.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const badHeader = Object.entries(configured).find(([name, value]) => !nodeHeaderCheck(name, value));
    if (badHeader) return new UnsendableHook('error', `header "${badHeader[0]}" is not a valid HTTP header`);

    const auth = await this.#authHeaders(hook, budget);
    if (auth instanceof UnsendableHook) return auth;
    return {
      target,
      method: hook.config.method,
      input,
      bodyTemplate: hook.config.bodyTemplate,
      headers: {
        'user-agent': this.#options.userAgent,
        ...configured,
        ...auth.headers,
        'content-type': 'application/json',
      },
      messageId,
      key,
      secretValues: [...auth.secretValues, signingSecret],
    };
  }

  async #authHeaders(
    hook: WebhookHook,
    budget: RunBudget,
  ): Promise<{ headers: Record<string, string>; secretValues: string[] } | UnsendableHook> {
    const auth = hook.config.auth;
    if (!auth) return { headers: {}, secretValues: [] };
    const secret = `auth secret "${auth.secretRef}"`;
    const headerName = auth.headerName?.toLowerCase();
    if (headerName && senderHeaders.has(headerName)) {
      return new UnsendableHook(
        'error',
        `auth header "${headerName}" is set by stagehooks and cannot carry a secret`,
      );
    }
    let resolved: { value: string } | undefined;
    try {
      resolved = await budget.race(this.#options.secrets.resolve(auth.secretRef));
    } catch (error) {
      // The name only: a resolver's message is not ours to vouch for.
      const kind = error instanceof Error ? ` (${error.name})` : '';
      return new UnsendableHook('error', `${secret} could not be resolved${kind}`);
    }
    if (!resolved) {
      return new UnsendableHook(
        'timed_out',
        `${secret} was not resolved within the ${budget.seconds} s budget`,
      );
    }
    const value = resolved.value;
    const [name, headerValue] =
      auth.type === 'bearer'
        ? ['authorization', `Bearer ${value}`]
        : auth.type === 'basic'
          ? ['authorization', `Basic ${Buffer.from(value, 'utf8').toString('base64')}`]
          : [headerName ?? '', value];
    if (auth.type === 'basic' && !value.includes(':')) {
      return new UnsendableHook('error', `${secret} must hold "user:password" for basic auth`);
    }
    if (value === '' || !nodeHeaderCheck(name, headerValue)) {
      return new UnsendableHook(
        'error',
        `${secret} is empty or holds characters an HTTP header cannot carry`,
      );
    }
    const password = auth.type === 'basic' ? value.slice(value.indexOf(':') + 1) : '';
    return {
      headers: { [name]: headerValue },
      secretValues: [value, headerValue, password].filter((s) => s.length > 0),
    };
  }

  /** `attempt`: 1 for the first, as the body says. */
  async #attempt(delivery: PreparedDelivery, attempt: number, budget: RunBudget): Promise<AttemptOutcome> {
    const body = bodyOf(delivery, attempt);
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes > WEBHOOK_BODY_LIMIT_BYTES) {
      return {
        kind: 'refused',
        message: `refused: the body rendered from bodyTemplate is ${bytes} bytes, over the ${WEBHOOK_BODY_LIMIT_BYTES / 1024} KiB a webhook may send`,
      };
    }
    const route = await this.#route(delivery.target, budget);
    if (!('addresses' in route)) return route;
    if (budget.remainingMs() <= 0) return { kind: 'timeout' };
    const { url } = delivery.target;
    const agent = url.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent;
    return deliverOnce(
      {
        url,
        method: delivery.method,
        body,
        // Signed per attempt: over this attempt's body, and the timestamp is when this attempt left.
        headers: {
          ...delivery.headers,
          ...signatureHeaders(delivery.messageId, new Date(), body, delivery.key),
        },
      },
      { agent, addresses: route.addresses, timeoutMs: budget.remainingMs() },
    );
  }

  /**
   * Resolves the host (each attempt: a failover may move it) and checks every address it has; the
   * connection then uses exactly these addresses.
   */
  async #route(
    target: Target,
    budget: RunBudget,
  ): Promise<{ addresses: LookupAddress[] | undefined } | Exclude<AttemptOutcome, { kind: 'response' }>> {
    const literal = isIP(target.hostname);
    let addresses: LookupAddress[];
    if (literal !== 0) {
      addresses = [{ address: target.hostname, family: literal }];
    } else {
      try {
        const resolved = await budget.race(this.#options.resolveHost(target.hostname));
        if (!resolved) return { kind: 'timeout' };
        addresses = resolved.value;
      } catch (error) {
        return { kind: 'network', reason: networkReason(error) };
      }
      if (addresses.length === 0) return { kind: 'network', reason: 'host not found' };
    }
    for (const { address } of addresses) {
      if (nonPublicRange(address) === undefined) continue;
      if (this.#allowlist.allows({ hostname: target.hostname, port: target.port, address })) continue;
      const what = literal !== 0 ? `${address} is` : `${target.hostname} resolves to ${address},`;
      return {
        kind: 'refused',
        message: `refused: ${what} a non-public address (set ${WEBHOOK_ALLOW_VARIABLE} to allow it)`,
      };
    }
    return { addresses: literal !== 0 ? undefined : addresses };
  }

  #resultOf(
    budget: RunBudget,
    delivery: PreparedDelivery,
    attempts: AttemptOutcome[],
    stopNote: string | undefined,
  ): HookRunResult {
    const last = attempts.at(-1);
    if (!last) throw new Error('a delivery makes at least one attempt');
    const labels = attempts.map((outcome) => attemptLabel(outcome, budget.seconds));
    const summary = () => {
      const listed = `${attempts.length} attempt${attempts.length === 1 ? '' : 's'}: ${labels.join(', ')}`;
      return stopNote ? `${listed}; ${stopNote}` : listed;
    };
    const noResponse = { responseStatus: null, responseBody: null, truncated: false };

    switch (last.kind) {
      case 'refused':
        return this.#result(budget, {
          status: 'error',
          ...noResponse,
          errorMessage: attempts.length === 1 ? last.message : summary(),
        });
      case 'timeout':
        return this.#result(budget, { status: 'timed_out', ...noResponse, errorMessage: summary() });
      case 'network':
        return this.#result(budget, { status: 'failed', ...noResponse, errorMessage: summary() });
      case 'response': {
        const body = redact(last.body, delivery.secretValues);
        const captured = { responseStatus: last.status, responseBody: body, truncated: last.truncated };
        if (last.status < 200 || last.status > 299) {
          return this.#result(budget, { status: 'failed', ...captured, errorMessage: summary() });
        }
        const said = last.truncated ? undefined : reportOf(body);
        if (said === TOO_DEEP) {
          return this.#result(budget, {
            status: 'failed',
            ...captured,
            errorMessage: `the response body ${tooDeepReport}`,
          });
        }
        const refinement = {
          ...(said?.message !== undefined ? { message: said.message } : {}),
          ...(said?.data !== undefined ? { data: said.data } : {}),
          ...(said?.patch !== undefined ? { patch: said.patch } : {}),
        };
        if (said?.status === 'failed') {
          labels[labels.length - 1] = `${last.status} with status "failed"`;
          return this.#result(budget, {
            status: 'failed',
            ...captured,
            errorMessage: summary(),
            ...refinement,
          });
        }
        return this.#result(budget, { status: 'passed', ...captured, errorMessage: null, ...refinement });
      }
    }
  }

  #result(
    budget: RunBudget,
    fields: Omit<HookRunResult, 'exitCode' | 'stdout' | 'stderr' | 'startedAt' | 'finishedAt' | 'durationMs'>,
  ): HookRunResult {
    const durationMs = budget.elapsedMs();
    return {
      ...fields,
      exitCode: null,
      stdout: null,
      stderr: null,
      startedAt: budget.startedAt.toISOString(),
      finishedAt: new Date(budget.startedAt.getTime() + durationMs).toISOString(),
      durationMs,
    };
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A body that nests deeper than its data may (the data is one level inside it). */
const TOO_DEEP = 'too deep';
const tooDeepReport = `${tooDeepMessage(MAX_JSON_DEPTH + 1)}: a result's data and patch may nest ${MAX_JSON_DEPTH}`;

function reportOf(body: string): z.output<typeof WebhookReport> | typeof TOO_DEEP | undefined {
  // Most receivers answer with no body or plain text: no JSON.parse (and its thrown SyntaxError) for those.
  if (!body.trimStart().startsWith('{')) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  // Deeper than any JSON the product takes: kept as the captured body, not carried in the run state.
  if (jsonTooDeepAt(json, MAX_JSON_DEPTH + 1) !== null) return isJsonObject(json) ? TOO_DEEP : undefined;
  const parsed = WebhookReport.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

function attemptLabel(outcome: AttemptOutcome, budgetSeconds: number): string {
  switch (outcome.kind) {
    case 'response':
      return String(outcome.status);
    case 'network':
      return outcome.reason;
    case 'timeout':
      return `no answer within the ${budgetSeconds} s budget`;
    case 'refused':
      return outcome.message;
  }
}
