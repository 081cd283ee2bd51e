import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Webhook targets are URLs our customers type in, and the worker POSTs to them from inside our network.
 * Without these checks a hook could reach the database, Redis, the cloud metadata service or any other
 * internal address. Two rules make the check hold:
 *  - the RESOLVED addresses are vetted, not the name (a public name may point at 127.0.0.1);
 *  - the connection is pinned to the vetted address (pinnedLookup), so a DNS answer that changes between the
 *    check and the connect (rebinding) cannot move the request to an internal address.
 */

export type AddressVerdict = { ok: true; family: 4 | 6 } | { ok: false; reason: string };

interface Range4 {
  base: number;
  bits: number;
  reason: string;
}

const ip4 = (s: string): number => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
const r4 = (cidr: string, reason: string): Range4 => {
  const [base, bits] = cidr.split('/') as [string, string];
  return { base: ip4(base), bits: Number(bits), reason };
};

/** Everything that is not ordinary public unicast IPv4. */
const blocked4: Range4[] = [
  r4('0.0.0.0/8', 'is in 0.0.0.0/8 ("this network")'),
  r4('10.0.0.0/8', 'is a private address (10.0.0.0/8)'),
  r4('100.64.0.0/10', 'is a carrier-grade NAT address (100.64.0.0/10)'),
  r4('127.0.0.0/8', 'is a loopback address (127.0.0.0/8)'),
  r4('169.254.0.0/16', 'is a link-local address (169.254.0.0/16, includes the cloud metadata service)'),
  r4('172.16.0.0/12', 'is a private address (172.16.0.0/12)'),
  r4('192.0.0.0/24', 'is an IETF protocol assignment address (192.0.0.0/24)'),
  r4('192.0.2.0/24', 'is a documentation address (192.0.2.0/24)'),
  r4('192.88.99.0/24', 'is a 6to4 relay anycast address (192.88.99.0/24)'),
  r4('192.168.0.0/16', 'is a private address (192.168.0.0/16)'),
  r4('198.18.0.0/15', 'is a benchmarking address (198.18.0.0/15)'),
  r4('198.51.100.0/24', 'is a documentation address (198.51.100.0/24)'),
  r4('203.0.113.0/24', 'is a documentation address (203.0.113.0/24)'),
  r4('224.0.0.0/4', 'is a multicast address (224.0.0.0/4)'),
  r4('240.0.0.0/4', 'is a reserved address (240.0.0.0/4, includes broadcast)'),
];

function inRange4(addr: number, r: Range4): boolean {
  const size = 2 ** (32 - r.bits);
  return Math.floor(addr / size) === Math.floor(r.base / size);
}

function classify4(addr: number): AddressVerdict {
  for (const r of blocked4) if (inRange4(addr, r)) return { ok: false, reason: r.reason };
  return { ok: true, family: 4 };
}

const dotted = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** Parse a (zone-free) IPv6 text into 8 hextets; null when it is not one. Accepts a trailing dotted IPv4. */
function parse6(text: string): number[] | null {
  if (isIP(text) !== 6) return null;
  let s = text.toLowerCase();
  // Rewrite a trailing dotted IPv4 ("::ffff:1.2.3.4") as two hextets, then parse plain hex.
  const lastColon = s.lastIndexOf(':');
  const maybeV4 = s.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    if (isIP(maybeV4) !== 4) return null;
    const n = ip4(maybeV4);
    s = `${s.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const parts = s.split('::');
  if (parts.length > 2) return null;
  const hexes = (x: string) => (x === '' ? [] : x.split(':').map((p) => (/^[0-9a-f]{1,4}$/.test(p) ? parseInt(p, 16) : NaN)));
  const head = hexes(parts[0]!);
  const rest = parts.length === 2 ? hexes(parts[1]!) : null;
  const fill = 8 - head.length - (rest?.length ?? 0);
  if (rest === null ? fill !== 0 : fill < 1) return null;
  const out = rest === null ? head : [...head, ...new Array<number>(fill).fill(0), ...rest];
  return out.length === 8 && out.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff) ? out : null;
}

function classify6(hx: number[]): AddressVerdict {
  const [a, b, c, d, e, f, g, h] = hx as [number, number, number, number, number, number, number, number];
  const embedded = ((g << 16) >>> 0) + h;
  const allZero = (xs: number[]) => xs.every((x) => x === 0);
  if (allZero(hx)) return { ok: false, reason: 'is the unspecified IPv6 address (::)' };
  if (allZero([a, b, c, d, e, f, g]) && h === 1) return { ok: false, reason: 'is the IPv6 loopback address (::1)' };
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) reach the embedded IPv4 address.
  if (allZero([a, b, c, d, e]) && f === 0xffff) {
    const v = classify4(embedded);
    return v.ok ? { ok: true, family: 6 } : { ok: false, reason: `is IPv4-mapped ${dotted(embedded)}, which ${v.reason}` };
  }
  if (allZero([a, b, c, d, e, f])) return { ok: false, reason: 'is an IPv4-compatible IPv6 address (::/96, deprecated)' };
  // NAT64 (64:ff9b::/96) translates to the embedded IPv4 address.
  if (a === 0x64 && b === 0xff9b && allZero([c, d, e, f])) {
    const v = classify4(embedded);
    return v.ok ? { ok: true, family: 6 } : { ok: false, reason: `is NAT64 of ${dotted(embedded)}, which ${v.reason}` };
  }
  if (a === 0x64 && b === 0xff9b && c === 1) return { ok: false, reason: 'is a local-use NAT64 address (64:ff9b:1::/48)' };
  if (a === 0x0100 && allZero([b, c, d])) return { ok: false, reason: 'is a discard-only address (100::/64)' };
  if ((a & 0xfe00) === 0xfc00) return { ok: false, reason: 'is a unique local IPv6 address (fc00::/7)' };
  if ((a & 0xffc0) === 0xfe80) return { ok: false, reason: 'is a link-local IPv6 address (fe80::/10)' };
  if ((a & 0xffc0) === 0xfec0) return { ok: false, reason: 'is a site-local IPv6 address (fec0::/10)' };
  if ((a & 0xff00) === 0xff00) return { ok: false, reason: 'is a multicast IPv6 address (ff00::/8)' };
  if (a === 0x2001 && b === 0x0db8) return { ok: false, reason: 'is a documentation IPv6 address (2001:db8::/32)' };
  // Teredo tunnels to an address we cannot see; 6to4 embeds an IPv4 address that must itself be public.
  if (a === 0x2001 && b === 0) return { ok: false, reason: 'is a Teredo address (2001::/32)' };
  if (a === 0x2002) {
    const v4 = ((b << 16) >>> 0) + c;
    const v = classify4(v4);
    return v.ok ? { ok: true, family: 6 } : { ok: false, reason: `is 6to4 of ${dotted(v4)}, which ${v.reason}` };
  }
  // Everything routable on the internet today is global unicast 2000::/3.
  if ((a & 0xe000) !== 0x2000) return { ok: false, reason: 'is not a global unicast IPv6 address (outside 2000::/3)' };
  return { ok: true, family: 6 };
}

/** Is this literal IP address one a webhook may be sent to? Anything that is not an IP address is refused. */
export function classifyAddress(input: string): AddressVerdict {
  if (typeof input !== 'string' || input.length === 0 || input.length > 100) return { ok: false, reason: 'is not an IP address' };
  let text = input.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  // A zone id (fe80::1%eth0) only exists for link-scoped addresses; classify the address without it.
  const zone = text.indexOf('%');
  if (zone !== -1) {
    if (isIP(text.slice(0, zone)) !== 6) return { ok: false, reason: 'is not an IP address' };
    text = text.slice(0, zone);
  }
  const family = isIP(text);
  if (family === 4) return classify4(ip4(text));
  if (family === 6) {
    const hx = parse6(text);
    return hx ? classify6(hx) : { ok: false, reason: 'is not an IP address' };
  }
  return { ok: false, reason: 'is not an IP address' };
}

export interface VettedTarget {
  url: URL;
  /** The address the connection must use (pin it with pinnedLookup). */
  address: string;
  family: 4 | 6;
}

export class UnsafeTargetError extends Error {
  constructor(
    readonly reason: string,
    /** True when retrying later may succeed (DNS did not answer); false for a target that is refused. */
    readonly transient = false,
  ) {
    super(reason);
    this.name = 'UnsafeTargetError';
  }
}

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;
const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * Parse, resolve and vet a webhook target. With allowPrivate (local development and tests) http and
 * private/loopback addresses are accepted; the address is still resolved and pinned.
 * Throws UnsafeTargetError with a reason a person can act on.
 */
export async function vetTargetUrl(raw: string, opts: { allowPrivate: boolean; resolve?: Resolver }): Promise<VettedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeTargetError('is not a valid URL');
  }
  const schemes = opts.allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    throw new UnsafeTargetError(opts.allowPrivate ? 'must start with https:// or http://' : 'must start with https://');
  }
  if (url.hostname === '') throw new UnsafeTargetError('has no host');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await (opts.resolve ?? systemResolver)(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UnsafeTargetError(`host ${host} could not be resolved${code ? ` (${code})` : ''}`, code !== 'ENOTFOUND');
    }
    if (addresses.length === 0) throw new UnsafeTargetError(`host ${host} has no address`, true);
  }
  if (!opts.allowPrivate) {
    // Every address must be public: the OS may pick any of them, and an attacker controls the order.
    for (const a of addresses) {
      const v = classifyAddress(a.address);
      if (!v.ok) throw new UnsafeTargetError(`resolves to ${a.address}, which ${v.reason}; webhooks only go to public addresses`);
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | Array<{ address: string; family: number }>, family?: number) => void;

/**
 * A `lookup` for http.request/got (`dnsLookup`) that always answers the vetted address, so the socket
 * connects exactly where the check looked. TLS still verifies the certificate against the URL's host name.
 */
export function pinnedLookup(target: Pick<VettedTarget, 'address' | 'family'>) {
  return (_hostname: string, options: unknown, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    if (all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  };
}
