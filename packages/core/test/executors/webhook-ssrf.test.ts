import { ValidationError } from '@stagehooks/core/errors';
import {
  HttpWebhookSender,
  type HttpWebhookSenderInit,
  isPublicAddress,
  nonPublicRange,
  parseWebhookAllowlist,
  WebhookAllowlist,
} from '@stagehooks/core/executors/webhook';
import { HttpReceiver } from '@test/http-receiver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hookInput, newSigningSecret, TableSecretResolver, webhookHook } from './webhook-fixtures';

describe('address classifier', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0/8 (this network)'],
    ['0.255.255.255', '0.0.0.0/8 (this network)'],
    ['10.0.0.5', '10.0.0.0/8 (private)'],
    ['100.64.0.1', '100.64.0.0/10 (carrier-grade NAT)'],
    ['100.127.255.254', '100.64.0.0/10 (carrier-grade NAT)'],
    ['127.0.0.1', '127.0.0.0/8 (loopback)'],
    ['127.255.255.255', '127.0.0.0/8 (loopback)'],
    ['169.254.169.254', '169.254.0.0/16 (link-local, cloud metadata)'],
    ['172.16.0.1', '172.16.0.0/12 (private)'],
    ['172.31.255.255', '172.16.0.0/12 (private)'],
    ['192.0.0.8', '192.0.0.0/24 (IETF protocol assignments)'],
    ['192.0.2.10', '192.0.2.0/24 (documentation)'],
    ['192.168.1.1', '192.168.0.0/16 (private)'],
    ['198.18.0.1', '198.18.0.0/15 (benchmarking)'],
    ['198.19.255.255', '198.18.0.0/15 (benchmarking)'],
    ['198.51.100.7', '198.51.100.0/24 (documentation)'],
    ['203.0.113.9', '203.0.113.0/24 (documentation)'],
    ['224.0.0.251', '224.0.0.0/4 (multicast)'],
    ['239.255.255.250', '224.0.0.0/4 (multicast)'],
    ['240.0.0.1', '240.0.0.0/4 (reserved)'],
    ['255.255.255.255', '255.255.255.255/32 (broadcast)'],
    ['::', '::/128 (unspecified)'],
    ['::1', '::1/128 (loopback)'],
    ['fc00::1', 'fc00::/7 (unique local)'],
    ['fd12:3456:789a::1', 'fc00::/7 (unique local)'],
    ['fe80::1', 'fe80::/10 (link-local)'],
    ['fe80::1%eth0', 'fe80::/10 (link-local)'],
    ['febf:ffff::1', 'fe80::/10 (link-local)'],
    ['ff02::1', 'ff00::/8 (multicast)'],
    ['2001:db8::1', '2001:db8::/32 (documentation)'],
    ['100::1', '100::/64 (discard-only)'],
    ['::ffff:127.0.0.1', '127.0.0.0/8 (loopback)'],
    ['::ffff:7f00:1', '127.0.0.0/8 (loopback)'],
    ['::ffff:169.254.169.254', '169.254.0.0/16 (link-local, cloud metadata)'],
    ['::ffff:a00:5', '10.0.0.0/8 (private)'],
    ['0:0:0:0:0:ffff:192.168.0.1', '192.168.0.0/16 (private)'],
    ['64:ff9b::10.0.0.1', '10.0.0.0/8 (private)'],
    ['64:ff9b::a9fe:a9fe', '169.254.0.0/16 (link-local, cloud metadata)'],
    ['::7f00:1', '::/96 (IPv4-compatible (deprecated))'],
    ['64:ff9b:1::a00:1', '64:ff9b:1::/48 (local-use NAT64)'],
    ['2002:7f00:1::1', '2002::/16 (6to4)'],
    ['2001:0:4136:e378::1', '2001::/32 (Teredo)'],
    ['fec0::1', 'fec0::/10 (site-local (deprecated))'],
    // IPv4-translated (SIIT): the embedded IPv4 address is judged
    ['::ffff:0:127.0.0.1', '127.0.0.0/8 (loopback)'],
    ['::ffff:0:7f00:1', '127.0.0.0/8 (loopback)'],
    ['::ffff:0:169.254.169.254', '169.254.0.0/16 (link-local, cloud metadata)'],
    ['0:0:0:0:ffff:0:a00:5', '10.0.0.0/8 (private)'],
    // every other form that embeds an IPv4 address, with a non-public one inside
    ['::127.0.0.1', '::/96 (IPv4-compatible (deprecated))'],
    ['64:ff9b::127.0.0.1', '127.0.0.0/8 (loopback)'],
    ['64:ff9b:1::c0a8:1', '64:ff9b:1::/48 (local-use NAT64)'],
    ['2002:a9fe:a9fe::', '2002::/16 (6to4)'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', '2001::/32 (Teredo)'],
    // non-global ranges of the IANA IPv6 special-purpose registry
    ['2001:2::1', '2001:2::/48 (benchmarking)'],
    ['2001:10::1', '2001:10::/28 (ORCHID (deprecated))'],
    ['3fff::1', '3fff::/20 (documentation)'],
    ['5f00::1', '5f00::/16 (segment routing)'],
  ])('%s is non-public: %s', (address, range) => {
    // Act
    const found = nonPublicRange(address);

    // Assess
    expect(found).toBe(range);
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.255.255',
    '172.15.255.255',
    '172.32.0.1',
    '192.0.1.1',
    '192.169.0.1',
    '198.17.255.255',
    '198.20.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '::ffff:0:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2001:3::1',
    '2001:20::1',
    '2001:db9::1',
  ])('%s is public', (address) => {
    // Act / Assess
    expect(isPublicAddress(address)).toBe(true);
  });

  it('rejects a string that is not an IP address', () => {
    // Act / Assess
    expect(() => isPublicAddress('hooks.internal')).toThrow(TypeError);
  });
});

describe('parseWebhookAllowlist', () => {
  it('accepts hosts, host:port pairs, IPs and CIDRs, trimming blanks', () => {
    // Act
    const entries = parseWebhookAllowlist(
      ' hooks.internal, grader.studio.lan:8443 ,10.0.0.5,127.0.0.1:9000,[::1]:8080,::1,10.0.0.0/8,fd00::/8,,',
    );

    // Assess
    expect(entries).toEqual([
      'hooks.internal',
      'grader.studio.lan:8443',
      '10.0.0.5',
      '127.0.0.1:9000',
      '[::1]:8080',
      '::1',
      '10.0.0.0/8',
      'fd00::/8',
    ]);
  });

  it('reads an empty value as no entries', () => {
    // Act / Assess
    expect(parseWebhookAllowlist('')).toEqual([]);
    expect(parseWebhookAllowlist(' , ')).toEqual([]);
  });

  it.each([
    'hooks internal',
    'http://hooks.internal',
    'hooks.internal:0',
    'hooks.internal:99999',
    'hooks.internal:http',
    '10.0.0.0/33',
    '10.0.0.0/',
    'fd00::/129',
    'hooks.internal/8',
    '[hooks.internal]:80',
    '[::1]:x',
    '*.internal',
  ])('names the bad entry %j in a ValidationError', (entry) => {
    // Act
    const parse = () => parseWebhookAllowlist(`hooks.internal,${entry}`);

    // Assess
    expect(parse).toThrow(ValidationError);
    expect(parse).toThrow(
      `invalid STAGEHOOKS_WEBHOOK_ALLOW: ${JSON.stringify(entry)} is not a host, host:port pair or CIDR`,
    );
  });

  it('names every bad entry at once', () => {
    // Act
    const parse = () => parseWebhookAllowlist('bad entry,10.0.0.0/99');

    // Assess
    expect(parse).toThrow(/"bad entry" is not .*; "10\.0\.0\.0\/99" is not/);
  });
});

describe('WebhookAllowlist', () => {
  const allowlist = new WebhookAllowlist(['hooks.internal', 'grader.lan:8443', '[::1]:8080', '10.1.0.0/16']);

  it.each([
    [{ hostname: 'hooks.internal', port: 80, address: '10.0.0.5' }, true],
    [{ hostname: 'HOOKS.internal', port: 443, address: '10.0.0.5' }, true],
    [{ hostname: 'grader.lan', port: 8443, address: '192.168.0.2' }, true],
    [{ hostname: 'grader.lan', port: 443, address: '192.168.0.2' }, false],
    [{ hostname: '::1', port: 8080, address: '::1' }, true],
    [{ hostname: '::1', port: 8081, address: '::1' }, false],
    [{ hostname: 'any.lan', port: 80, address: '10.1.200.3' }, true],
    [{ hostname: 'any.lan', port: 80, address: '10.2.0.1' }, false],
    [{ hostname: 'other.internal', port: 80, address: '10.0.0.5' }, false],
  ])('%o -> %s', (destination, allowed) => {
    // Act / Assess
    expect(allowlist.allows(destination)).toBe(allowed);
  });

  it('throws a ValidationError for a bad entry given to the sender', () => {
    // Act / Assess
    expect(
      () => new HttpWebhookSender({ secrets: new TableSecretResolver({}), allow: ['10.0.0.0/40'] }),
    ).toThrow(ValidationError);
  });
});

describe('SSRF guard on real requests', () => {
  const signingSecret = newSigningSecret();
  let receiver: HttpReceiver;
  let sender: HttpWebhookSender;
  const senderFor = (options: Partial<HttpWebhookSenderInit> = {}) =>
    new HttpWebhookSender({
      secrets: new TableSecretResolver({}),
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 20,
      ...options,
    });
  /** A DNS answer for the test: the fault under test is a name resolving somewhere it should not. */
  const resolvesTo =
    (...addresses: string[]) =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  beforeAll(async () => {
    receiver = await HttpReceiver.start();
  });
  afterAll(async () => {
    await receiver.close();
  });
  afterEach(() => {
    sender?.close();
    receiver.reset();
  });

  it('refuses loopback without an allowlist and sends nothing', async () => {
    // Prepare
    sender = senderFor();

    // Act
    const result = await sender.send(webhookHook({ url: receiver.url() }), hookInput(), signingSecret);

    // Assess
    expect(result).toMatchObject({
      status: 'error',
      responseStatus: null,
      errorMessage: 'refused: 127.0.0.1 is a non-public address (set STAGEHOOKS_WEBHOOK_ALLOW to allow it)',
    });
    expect(receiver.requests).toHaveLength(0);
  });

  it('allows loopback by host:port', async () => {
    // Prepare
    sender = senderFor({ allow: parseWebhookAllowlist(`127.0.0.1:${receiver.port}`) });

    // Act
    const result = await sender.send(webhookHook({ url: receiver.url() }), hookInput(), signingSecret);

    // Assess
    expect(result.status).toBe('passed');
    expect(receiver.requests).toHaveLength(1);
  });

  it('allows loopback by CIDR', async () => {
    // Prepare
    sender = senderFor({ allow: parseWebhookAllowlist('127.0.0.0/8') });

    // Act
    const result = await sender.send(webhookHook({ url: receiver.url() }), hookInput(), signingSecret);

    // Assess
    expect(result.status).toBe('passed');
    expect(receiver.requests).toHaveLength(1);
  });

  it('refuses a host:port entry for another port', async () => {
    // Prepare
    sender = senderFor({ allow: [`127.0.0.1:${receiver.port + 1}`] });

    // Act
    const result = await sender.send(webhookHook({ url: receiver.url() }), hookInput(), signingSecret);

    // Assess
    expect(result.status).toBe('error');
    expect(receiver.requests).toHaveLength(0);
  });

  it('allows a host name by host:port through the system resolver', async () => {
    // Prepare
    sender = senderFor({ allow: [`localhost:${receiver.port}`] });
    const hook = webhookHook({ url: `http://localhost:${receiver.port}/hook` });

    // Act
    const result = await sender.send(hook, hookInput(), signingSecret);

    // Assess
    expect(result.status).toBe('passed');
    expect(receiver.requests[0]?.headers.host).toBe(`localhost:${receiver.port}`);
  });

  it.each([
    ['metadata endpoint', 'http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]:9/hook', '::ffff:7f00:1'],
    ['IPv4-translated (SIIT) loopback', 'http://[::ffff:0:127.0.0.1]:9/hook', '::ffff:0:7f00:1'],
    ['IPv4-compatible loopback', 'http://[::127.0.0.1]:9/hook', '::7f00:1'],
    ['NAT64 metadata endpoint', 'http://[64:ff9b::169.254.169.254]/hook', '64:ff9b::a9fe:a9fe'],
    ['6to4 private address', 'http://[2002:c0a8:101::1]/hook', '2002:c0a8:101::1'],
    [
      'Teredo address',
      'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    ],
    ['decimal IPv4 loopback', 'http://2130706433:9/hook', '127.0.0.1'],
    ['IPv6 loopback', 'https://[::1]/hook', '::1'],
  ])('refuses the %s', async (_what, url, address) => {
    // Prepare
    sender = senderFor();

    // Act
    const result = await sender.send(webhookHook({ url }), hookInput(), signingSecret);

    // Assess
    expect(result.status).toBe('error');
    expect(result.errorMessage).toBe(
      `refused: ${address} is a non-public address (set STAGEHOOKS_WEBHOOK_ALLOW to allow it)`,
    );
  });

  it.each(['::ffff:127.0.0.1', '::ffff:0:127.0.0.1', '::127.0.0.1', '64:ff9b::127.0.0.1'])(
    'refuses [%s] at the port of a live loopback receiver, which gets nothing',
    async (literal) => {
      // Prepare
      sender = senderFor();

      // Act
      const result = await sender.send(
        webhookHook({ url: `http://[${literal}]:${receiver.port}/hook` }),
        hookInput(),
        signingSecret,
      );

      // Assess
      expect(result).toMatchObject({
        status: 'error',
        errorMessage: expect.stringMatching(/^refused: .* non-public/),
      });
      expect(receiver.requests).toHaveLength(0);
    },
  );

  it('refuses a name that resolves to a private address, naming both', async () => {
    // Prepare
    sender = senderFor({ resolveHost: resolvesTo('10.0.0.5') });

    // Act
    const result = await sender.send(
      webhookHook({ url: 'https://hooks.internal/grade' }),
      hookInput(),
      signingSecret,
    );

    // Assess
    expect(result).toMatchObject({
      status: 'error',
      errorMessage:
        'refused: hooks.internal resolves to 10.0.0.5, a non-public address (set STAGEHOOKS_WEBHOOK_ALLOW to allow it)',
    });
  });

  it('refuses a name when any one of its addresses is non-public', async () => {
    // Prepare
    sender = senderFor({ resolveHost: resolvesTo('93.184.216.34', '127.0.0.1') });

    // Act
    const result = await sender.send(
      webhookHook({ url: `http://hooks.example.com:${receiver.port}/hook` }),
      hookInput(),
      signingSecret,
    );

    // Assess
    expect(result.errorMessage).toContain('resolves to 127.0.0.1');
    expect(receiver.requests).toHaveLength(0);
  });

  it('connects to the address it checked, not to a fresh resolution of the name', async () => {
    // Prepare: a name the system resolver does not know; only the checked answer can reach the receiver.
    sender = senderFor({ resolveHost: resolvesTo('127.0.0.1'), allow: ['127.0.0.0/8'] });
    const hook = webhookHook({ url: `http://hooks.stagehooks.invalid:${receiver.port}/hook` });

    // Act
    const result = await sender.send(hook, hookInput(), signingSecret);

    // Assess
    expect(result.status).toBe('passed');
    expect(receiver.requests[0]?.headers.host).toBe(`hooks.stagehooks.invalid:${receiver.port}`);
  });

  it('fails with a summary when the name does not resolve', async () => {
    // Prepare
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND hooks.gone.example'), {
      code: 'ENOTFOUND',
    });
    sender = senderFor({ resolveHost: () => Promise.reject(notFound) });

    // Act
    const result = await sender.send(
      webhookHook({ url: 'https://hooks.gone.example/x', retry: { maxAttempts: 2 } }),
      hookInput(),
      signingSecret,
    );

    // Assess
    expect(result).toMatchObject({
      status: 'failed',
      errorMessage: '2 attempts: host not found, host not found',
    });
  });

  it.each([
    ['ftp://hooks.example.com/x', 'refused: scheme "ftp" is not http or https'],
    ['file:///etc/passwd', 'refused: scheme "file" is not http or https'],
    [
      'http://user:pw@hooks.example.com/x',
      'refused: the webhook URL carries credentials; use auth with a secretRef instead',
    ],
  ])('refuses %s before any lookup', async (url, message) => {
    // Prepare: the schema only admits http(s) URLs, so build a stored hook and change its URL afterwards.
    let lookups = 0;
    sender = senderFor({
      resolveHost: async () => {
        lookups += 1;
        return [];
      },
    });
    const stored = webhookHook({ url: 'https://hooks.example.com/x' });
    const hook = { ...stored, config: { ...stored.config, url } };

    // Act
    const result = await sender.send(hook, hookInput(), signingSecret);

    // Assess
    expect(result).toMatchObject({ status: 'error', errorMessage: message });
    expect(lookups).toBe(0);
  });
});
