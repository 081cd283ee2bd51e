import { classifyAddress, pinnedLookup, UnsafeTargetError, vetTargetUrl, type Resolver } from '@onramp/core';

const refused: Array<[string, RegExp]> = [
  // IPv4 special ranges
  ['0.0.0.0', /0\.0\.0\.0\/8/],
  ['0.255.255.255', /0\.0\.0\.0\/8/],
  ['10.0.0.1', /private/],
  ['10.255.255.255', /private/],
  ['100.64.0.1', /carrier-grade NAT/],
  ['100.127.255.254', /carrier-grade NAT/],
  ['127.0.0.1', /loopback/],
  ['127.255.255.254', /loopback/],
  ['169.254.169.254', /link-local.*metadata/],
  ['169.254.0.1', /link-local/],
  ['172.16.0.1', /private/],
  ['172.31.255.255', /private/],
  ['192.168.0.1', /private/],
  ['192.168.255.255', /private/],
  ['192.0.0.8', /IETF/],
  ['192.0.2.10', /documentation/],
  ['198.18.0.1', /benchmarking/],
  ['198.51.100.7', /documentation/],
  ['203.0.113.9', /documentation/],
  ['224.0.0.1', /multicast/],
  ['239.255.255.250', /multicast/],
  ['240.0.0.1', /reserved/],
  ['255.255.255.255', /reserved/],
  // IPv6
  ['::', /unspecified/],
  ['::1', /loopback/],
  ['0:0:0:0:0:0:0:1', /loopback/],
  ['[::1]', /loopback/],
  ['::ffff:127.0.0.1', /IPv4-mapped 127\.0\.0\.1.*loopback/],
  ['::ffff:7f00:1', /IPv4-mapped 127\.0\.0\.1/],
  ['0:0:0:0:0:ffff:a9fe:a9fe', /IPv4-mapped 169\.254\.169\.254.*link-local/],
  ['::FFFF:10.1.2.3', /IPv4-mapped 10\.1\.2\.3/],
  ['::127.0.0.1', /IPv4-compatible/],
  ['64:ff9b::a9fe:a9fe', /NAT64 of 169\.254\.169\.254/],
  ['64:ff9b:1::1', /local-use NAT64/],
  ['100::1', /discard/],
  ['fc00::1', /unique local/],
  ['fd12:3456:789a::1', /unique local/],
  ['fe80::1', /link-local/],
  ['fe80::1%eth0', /link-local/],
  ['febf:ffff::1', /link-local/],
  ['fec0::1', /site-local/],
  ['ff02::1', /multicast/],
  ['ff05::1:3', /multicast/],
  ['2001:db8::1', /documentation/],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
  ['2002:7f00:1::1', /6to4 of 127\.0\.0\.1/],
  ['2002:c0a8:101::1', /6to4 of 192\.168\.1\.1/],
  ['4000::1', /global unicast/],
  ['::2', /IPv4-compatible/],
  // not an address at all
  ['', /not an IP address/],
  ['localhost', /not an IP address/],
  ['example.com', /not an IP address/],
  ['127.1', /not an IP address/],
  ['0x7f.0.0.1', /not an IP address/],
  ['2130706433', /not an IP address/],
  ['0177.0.0.1', /not an IP address/],
  ['1.2.3.4.5', /not an IP address/],
  ['256.1.1.1', /not an IP address/],
  ['1.2.3', /not an IP address/],
  [':::1', /not an IP address/],
  ['1::2::3', /not an IP address/],
  ['12345::1', /not an IP address/],
  ['g::1', /not an IP address/],
  ['1.2.3.4%eth0', /not an IP address/],
  [' 8.8.8.8 x', /not an IP address/],
  ['[8.8.8.8]x', /not an IP address/],
  ['x'.repeat(200), /not an IP address/],
];

const allowed: Array<[string, 4 | 6]> = [
  ['8.8.8.8', 4],
  ['1.1.1.1', 4],
  ['93.184.215.14', 4],
  ['9.255.255.255', 4],
  ['11.0.0.0', 4],
  ['100.63.255.255', 4],
  ['100.128.0.0', 4],
  ['126.255.255.255', 4],
  ['128.0.0.1', 4],
  ['169.253.255.255', 4],
  ['169.255.0.1', 4],
  ['172.15.255.255', 4],
  ['172.32.0.0', 4],
  ['192.167.255.255', 4],
  ['192.169.0.0', 4],
  ['198.17.255.255', 4],
  ['198.20.0.0', 4],
  ['223.255.255.255', 4],
  ['2606:4700:4700::1111', 6],
  ['2001:4860:4860::8888', 6],
  ['[2a00:1450:4001:82a::200e]', 6],
  ['::ffff:8.8.8.8', 6],
  ['::ffff:808:808', 6],
  ['64:ff9b::808:808', 6],
  ['2002:808:808::1', 6],
  ['3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6],
];

describe('classifyAddress', () => {
  it.each(refused)('refuses %j', (address, reason) => {
    const verdict = classifyAddress(address);
    expect(verdict).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });

  it.each(allowed)('allows public %j', (address, family) => {
    expect(classifyAddress(address)).toEqual({ ok: true, family });
  });

  it('refuses values that are not strings without throwing', () => {
    for (const bad of [undefined, null, 42, {}, ['127.0.0.1']]) {
      expect(classifyAddress(bad as unknown as string)).toEqual({ ok: false, reason: 'is not an IP address' });
    }
  });
});

/** A resolver that answers from a table: the classifier must judge what a name resolves to. */
const fakeDns =
  (table: Record<string, string[]>): Resolver =>
  async (host) => {
    const addrs = table[host];
    if (!addrs) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('vetTargetUrl', () => {
  const resolve = fakeDns({
    'hooks.example': ['93.184.215.14'],
    'v6.example': ['2606:4700:4700::1111'],
    'internal.example': ['10.0.0.5'],
    'mixed.example': ['93.184.215.14', '127.0.0.1'],
    'metadata.example': ['169.254.169.254'],
    'mapped.example': ['::ffff:192.168.1.1'],
    'empty.example': [],
  });
  const strict = { allowPrivate: false, resolve };

  it('accepts https to a name resolving to public addresses and returns the address to pin', async () => {
    await expect(vetTargetUrl('https://hooks.example/catch/1?x=1', strict)).resolves.toMatchObject({ address: '93.184.215.14', family: 4 });
    await expect(vetTargetUrl('https://v6.example:8443/', strict)).resolves.toMatchObject({ address: '2606:4700:4700::1111', family: 6 });
    await expect(vetTargetUrl('https://8.8.8.8/', strict)).resolves.toMatchObject({ address: '8.8.8.8' });
    await expect(vetTargetUrl('https://[2606:4700:4700::1111]/', strict)).resolves.toMatchObject({ family: 6 });
  });

  const rejects: Array<[string, RegExp]> = [
    ['not a url', /not a valid URL/],
    ['', /not a valid URL/],
    ['http://hooks.example/', /must start with https:\/\//],
    ['ftp://hooks.example/', /must start with https:\/\//],
    ['javascript:alert(1)', /must start with https:\/\//],
    ['https://internal.example/', /10\.0\.0\.5.*private/],
    ['https://mixed.example/', /127\.0\.0\.1.*loopback/],
    ['https://metadata.example/', /169\.254\.169\.254/],
    ['https://mapped.example/', /IPv4-mapped 192\.168\.1\.1/],
    ['https://169.254.169.254/latest/meta-data/', /link-local/],
    ['https://127.0.0.1/', /loopback/],
    ['https://0x7f.0.0.1/', /loopback/], // the URL parser normalises hex/octal/integer forms
    ['https://2130706433/', /loopback/],
    ['https://017700000001/', /loopback/],
    ['https://127.1/', /loopback/],
    ['https://0/', /0\.0\.0\.0\/8/],
    ['https://[::1]/', /loopback/],
    ['https://[::ffff:127.0.0.1]/', /IPv4-mapped/],
    ['https://[fd00::1]/', /unique local/],
    ['https://nowhere.example/', /could not be resolved \(ENOTFOUND\)/],
    ['https://empty.example/', /has no address/],
  ];
  it.each(rejects)('rejects %j', async (url, reason) => {
    const err = await vetTargetUrl(url, strict).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeTargetError);
    expect((err as Error).message).toMatch(reason);
  });

  it('resolves names through the system resolver: localhost is loopback', async () => {
    const err = await vetTargetUrl('https://localhost/hook', { allowPrivate: false }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/resolves to (127\.0\.0\.1|::1).*loopback/);
  });

  it('allows http and private targets only when told to (WEBHOOK_ALLOW_PRIVATE_TARGETS)', async () => {
    await expect(vetTargetUrl('http://internal.example:8080/x', { allowPrivate: true, resolve })).resolves.toMatchObject({ address: '10.0.0.5' });
    await expect(vetTargetUrl('http://127.0.0.1:9/', { allowPrivate: true, resolve })).resolves.toMatchObject({ address: '127.0.0.1' });
    await expect(vetTargetUrl('ftp://127.0.0.1/', { allowPrivate: true, resolve })).rejects.toThrow(/https:\/\/ or http:\/\//);
  });

  it('marks DNS failures other than NXDOMAIN as transient (the delivery retries)', async () => {
    const flaky: Resolver = async () => {
      throw Object.assign(new Error('queryA ETIMEOUT'), { code: 'EAI_AGAIN' });
    };
    const err = (await vetTargetUrl('https://hooks.example/', { allowPrivate: false, resolve: flaky }).catch((e: unknown) => e)) as UnsafeTargetError;
    expect(err.transient).toBe(true);
    const gone = (await vetTargetUrl('https://nowhere.example/', strict).catch((e: unknown) => e)) as UnsafeTargetError;
    expect(gone.transient).toBe(false);
  });
});

describe('pinnedLookup', () => {
  it('answers the vetted address whatever name is asked, in both callback styles', () => {
    const lookup = pinnedLookup({ address: '93.184.215.14', family: 4 });
    const calls: unknown[][] = [];
    const record = (...args: unknown[]) => calls.push(args);
    lookup('rebound.example', {}, record);
    lookup('rebound.example', { all: true }, record);
    (lookup as unknown as (h: string, cb: unknown) => void)('x', record);
    expect(calls).toEqual([
      [null, '93.184.215.14', 4],
      [null, [{ address: '93.184.215.14', family: 4 }]],
      [null, '93.184.215.14', 4],
    ]);
  });
});
