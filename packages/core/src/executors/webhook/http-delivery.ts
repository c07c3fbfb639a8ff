import type { LookupAddress } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { CAPTURE_LIMIT_BYTES } from '../../domain';

/** What one HTTP attempt came to. */
export type DeliveryOutcome =
  | { kind: 'response'; status: number; headers: http.IncomingHttpHeaders; body: string; truncated: boolean }
  | { kind: 'network'; reason: string }
  | { kind: 'timeout' };

export interface DeliveryRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string;
}

export interface DeliveryRoute {
  agent: http.Agent;
  /** The checked addresses of a host name; undefined when the URL holds an IP literal. */
  addresses: readonly LookupAddress[] | undefined;
  /** Whatever is left of the hook's budget: the attempt is abandoned when it runs out. */
  timeoutMs: number;
}

/**
 * Answers the socket's own DNS lookup with the addresses already checked, so a second resolution
 * (DNS rebinding) cannot send the request elsewhere. Handles `all` for Node's happy-eyeballs connect.
 */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : undefined;
    const candidates = addresses.filter((a) => family === undefined || a.family === family);
    const [first] = candidates;
    if (options.all) callback(null, candidates);
    else if (first) callback(null, first.address, first.family);
    else
      callback(
        Object.assign(new Error(`no checked ${family} address for ${hostname}`), { code: 'ENOTFOUND' }),
        '',
      );
  };
}

const tlsCodes = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/** A short, secret-free reason for a transport failure, used in the attempt summary. */
export function networkReason(error: unknown): string {
  const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : '';
  if (error instanceof Error && error.message === 'socket hang up')
    return 'connection closed without a response';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EPIPE':
      return 'connection closed while sending';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ETIMEDOUT':
      return 'connect timed out';
    case 'ENOTFOUND':
      return 'host not found';
    case 'EAI_AGAIN':
      return 'DNS lookup failed';
  }
  if (tlsCodes.test(code)) return `TLS error (${code})`;
  return code ? `network error (${code})` : 'network error';
}

/** The longest prefix of `bytes` that ends on a whole UTF-8 character. */
function utf8Prefix(bytes: Buffer): string {
  let end = bytes.length;
  let start = end - 1;
  while (start > 0 && start > end - 4 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start -= 1;
  const lead = bytes[start] ?? 0;
  const width = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (start + width > end) end = start;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * Sends one request and reads the answer, keeping at most CAPTURE_LIMIT_BYTES of the body: the rest is
 * not read, the response is destroyed. Every transport failure is an outcome; headers must already be
 * valid (a bad one throws, as Node does).
 */
export function deliverOnce(request: DeliveryRequest, route: DeliveryRoute): Promise<DeliveryOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: DeliveryOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const transport = request.url.protocol === 'https:' ? https : http;
    const req = transport.request(
      {
        agent: route.agent,
        method: request.method,
        protocol: request.url.protocol,
        // URL keeps brackets around an IPv6 literal; the socket wants the bare address.
        hostname: request.url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: request.url.port || undefined,
        path: `${request.url.pathname}${request.url.search}`,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        ...(route.addresses ? { lookup: pinnedLookup(route.addresses) } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const answer = (body: Buffer, truncated: boolean) =>
          settle({
            kind: 'response',
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: truncated ? utf8Prefix(body) : body.toString('utf8'),
            truncated,
          });
        res.on('data', (chunk: Buffer) => {
          const room = CAPTURE_LIMIT_BYTES - size;
          if (chunk.length <= room) {
            chunks.push(chunk);
            size += chunk.length;
            return;
          }
          chunks.push(chunk.subarray(0, room));
          answer(Buffer.concat(chunks), true);
          // Reading on would cost time and memory for bytes nobody keeps.
          res.destroy();
        });
        res.on('end', () => answer(Buffer.concat(chunks), false));
        res.on('error', (error) => settle({ kind: 'network', reason: networkReason(error) }));
        res.on('close', () => settle({ kind: 'network', reason: 'connection closed mid-response' }));
      },
    );
    timer = setTimeout(() => {
      settle({ kind: 'timeout' });
      req.destroy();
    }, route.timeoutMs);
    req.on('error', (error) => settle({ kind: 'network', reason: networkReason(error) }));
    req.end(request.body);
  });
}
