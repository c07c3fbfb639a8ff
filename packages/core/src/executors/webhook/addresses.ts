import { BlockList, isIPv4, isIPv6 } from 'node:net';

type Family = 'ipv4' | 'ipv6';

/**
 * Ranges a webhook must not reach unless allowlisted: a hook author could otherwise make the engine
 * call its own network (cloud metadata, loopback services, the VPC). Broadcast comes before 240/4
 * so it gets the more telling label.
 */
const nonPublicRanges: ReadonlyArray<readonly [cidr: string, family: Family, label: string]> = [
  ['0.0.0.0/8', 'ipv4', 'this network'],
  ['10.0.0.0/8', 'ipv4', 'private'],
  ['100.64.0.0/10', 'ipv4', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'ipv4', 'loopback'],
  ['169.254.0.0/16', 'ipv4', 'link-local, cloud metadata'],
  ['172.16.0.0/12', 'ipv4', 'private'],
  ['192.0.0.0/24', 'ipv4', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'ipv4', 'documentation'],
  ['192.168.0.0/16', 'ipv4', 'private'],
  ['198.18.0.0/15', 'ipv4', 'benchmarking'],
  ['198.51.100.0/24', 'ipv4', 'documentation'],
  ['203.0.113.0/24', 'ipv4', 'documentation'],
  ['224.0.0.0/4', 'ipv4', 'multicast'],
  ['255.255.255.255/32', 'ipv4', 'broadcast'],
  ['240.0.0.0/4', 'ipv4', 'reserved'],
  ['::/128', 'ipv6', 'unspecified'],
  ['::1/128', 'ipv6', 'loopback'],
  ['fc00::/7', 'ipv6', 'unique local'],
  ['fe80::/10', 'ipv6', 'link-local'],
  ['ff00::/8', 'ipv6', 'multicast'],
  ['2001:db8::/32', 'ipv6', 'documentation'],
  ['100::/64', 'ipv6', 'discard-only'],
  ['2001:2::/48', 'ipv6', 'benchmarking'],
  ['2001:10::/28', 'ipv6', 'ORCHID (deprecated)'],
  ['3fff::/20', 'ipv6', 'documentation'],
  ['5f00::/16', 'ipv6', 'segment routing'],
  // Tunnelling and legacy forms that can carry traffic to an IPv4 (or site) address inside.
  ['::/96', 'ipv6', 'IPv4-compatible (deprecated)'],
  ['64:ff9b:1::/48', 'ipv6', 'local-use NAT64'],
  ['2002::/16', 'ipv6', '6to4'],
  ['2001::/32', 'ipv6', 'Teredo'],
  ['fec0::/10', 'ipv6', 'site-local (deprecated)'],
];

// One list per range, so a refusal can say which range matched.
const rangeLists = nonPublicRanges.map(([cidr, family, label]) => {
  const [network = '', prefix = ''] = cidr.split('/');
  const list = new BlockList();
  list.addSubnet(network, Number(prefix), family);
  return { cidr, family, label, list };
});

/** The 8 groups of an IPv6 address (already checked with `isIPv6`), a trailing dotted quad included. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const headGroups = parse(head);
  if (rest === undefined) return headGroups;
  const tailGroups = parse(rest);
  return [...headGroups, ...Array<number>(8 - headGroups.length - tailGroups.length).fill(0), ...tailGroups];
}

/**
 * The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated (SIIT, `::ffff:0:a.b.c.d`)
 * or NAT64 (`64:ff9b::a.b.c.d`) IPv6 address: traffic to those ends up at the IPv4 address, so that is
 * the one to judge. The other forms that carry an IPv4 address (IPv4-compatible `::a.b.c.d`, local-use
 * NAT64, 6to4, Teredo) are refused as whole ranges.
 */
export function embeddedIpv4(address: string): string | undefined {
  if (!isIPv6(address)) return undefined;
  const groups = ipv6Groups(withoutZone(address));
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const mapped = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff;
  const translated = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0;
  const nat64 = g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0;
  if (!mapped && !translated && !nat64) return undefined;
  return [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff].join('.');
}

/** `fe80::1%eth0` -> `fe80::1`: the zone does not change which range an address is in. */
function withoutZone(address: string): string {
  const percent = address.indexOf('%');
  return percent === -1 ? address : address.slice(0, percent);
}

/**
 * The non-public range `address` falls in, e.g. `127.0.0.0/8 (loopback)`, or undefined for a public
 * address. Throws a TypeError for a string that is not an IP address: callers pass resolved addresses.
 */
export function nonPublicRange(address: string): string | undefined {
  const embedded = embeddedIpv4(address);
  if (embedded !== undefined) return nonPublicRange(embedded);
  const family: Family | undefined = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (family === undefined) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  const bare = withoutZone(address);
  const range = rangeLists.find((r) => r.family === family && r.list.check(bare, family));
  return range && `${range.cidr} (${range.label})`;
}

export function isPublicAddress(address: string): boolean {
  return nonPublicRange(address) === undefined;
}
