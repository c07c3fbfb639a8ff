import { BlockList, isIP } from 'node:net';
import { ValidationError } from '../../errors';

/** Where the allowlist is read from; named in every refusal so operators know what to set. */
export const WEBHOOK_ALLOW_VARIABLE = 'STAGEHOOKS_WEBHOOK_ALLOW';

type AllowEntry =
  | { kind: 'host'; host: string; port: number | undefined }
  | { kind: 'address'; list: BlockList; port: number | undefined }
  | { kind: 'cidr'; list: BlockList };

/** What a request is about to reach: the URL's host and port, and one address it resolved to. */
export interface WebhookDestination {
  hostname: string;
  port: number;
  address: string;
}

const hostnamePattern =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : undefined;
}

function addressEntry(address: string, port: number | undefined): AllowEntry {
  const list = new BlockList();
  list.addAddress(address, familyOf(address));
  return { kind: 'address', list, port };
}

/** One entry: `hooks.internal`, `hooks.internal:8443`, `10.0.0.5`, `[::1]:8080`, `10.0.0.0/8`, `fd00::/8`. */
function parseEntry(entry: string): AllowEntry | undefined {
  const slash = entry.indexOf('/');
  if (slash !== -1) {
    const network = entry.slice(0, slash);
    const prefixText = entry.slice(slash + 1);
    const version = isIP(network);
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (version === 0 || !(prefix <= (version === 4 ? 32 : 128))) return undefined;
    const list = new BlockList();
    list.addSubnet(network, prefix, version === 4 ? 'ipv4' : 'ipv6');
    return { kind: 'cidr', list };
  }
  if (isIP(entry) !== 0) return addressEntry(entry, undefined);
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) {
    const [, address = '', portText] = bracketed;
    const port = portText === undefined ? undefined : parsePort(portText);
    if (isIP(address) !== 6 || (portText !== undefined && port === undefined)) return undefined;
    return addressEntry(address, port);
  }
  const colon = entry.lastIndexOf(':');
  const host = (colon === -1 ? entry : entry.slice(0, colon)).toLowerCase();
  const port = colon === -1 ? undefined : parsePort(entry.slice(colon + 1));
  if (colon !== -1 && port === undefined) return undefined;
  if (isIP(host) === 4) return addressEntry(host, port);
  return hostnamePattern.test(host) ? { kind: 'host', host, port } : undefined;
}

function splitEntries(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function compileEntries(entries: readonly string[]): AllowEntry[] {
  const compiled: AllowEntry[] = [];
  const bad: string[] = [];
  for (const entry of entries) {
    const parsed = parseEntry(entry.trim());
    if (parsed) compiled.push(parsed);
    else bad.push(entry);
  }
  if (bad.length > 0) {
    throw new ValidationError(
      WEBHOOK_ALLOW_VARIABLE,
      bad.map((entry) => ({
        path: '',
        message: `${JSON.stringify(entry)} is not a host, host:port pair or CIDR`,
      })),
    );
  }
  return compiled;
}

/**
 * Parses the `STAGEHOOKS_WEBHOOK_ALLOW` format (comma-separated hosts, host:port pairs or CIDRs) into
 * the entries `HttpWebhookSender` takes as `allow`. Throws a ValidationError naming every bad entry.
 */
export function parseWebhookAllowlist(value: string): string[] {
  const entries = splitEntries(value);
  compileEntries(entries);
  return entries;
}

/** Non-public destinations an operator has opted into. */
export class WebhookAllowlist {
  readonly #entries: AllowEntry[];

  /** Throws a ValidationError naming every entry that is not a host, host:port pair or CIDR. */
  constructor(entries: readonly string[]) {
    this.#entries = compileEntries(entries);
  }

  allows(destination: WebhookDestination): boolean {
    return this.#entries.some((entry) => entryAllows(entry, destination));
  }
}

function entryAllows(entry: AllowEntry, { hostname, port, address }: WebhookDestination): boolean {
  const portMatches = (wanted: number | undefined) => wanted === undefined || wanted === port;
  switch (entry.kind) {
    case 'host':
      return entry.host === hostname.toLowerCase() && portMatches(entry.port);
    case 'address':
      return entry.list.check(address, familyOf(address)) && portMatches(entry.port);
    case 'cidr':
      return entry.list.check(address, familyOf(address));
  }
}
