import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CallbackUrlError,
  checkCallbackUrl,
  isPublicAddress,
  type ResolvedAddress,
  type ResolveHost,
} from '../../shared/callbacks/callback-url.js';

const AWS = { allowLocal: false };
const LOCAL = { allowLocal: true };

/** A resolver for a made-up internet: names map to the addresses listed, anything else does not resolve. */
const resolver =
  (names: Record<string, readonly string[]>): ResolveHost =>
  async (hostname) => {
    const addresses = names[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

const PUBLIC_V4 = '93.184.215.14';
const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

/** Names an attacker controls, answering with internal addresses (DNS rebinding and friends). */
const HOSTILE_NAMES: Record<string, readonly string[]> = {
  'rebind.attacker.example': ['127.0.0.1'],
  'metadata.attacker.example': ['169.254.169.254'],
  'mixed.attacker.example': [PUBLIC_V4, '10.0.0.5'],
  'v6.attacker.example': ['::1'],
  'mapped.attacker.example': ['::ffff:127.0.0.1'],
  'ula.attacker.example': ['fd00:ec2::254'],
  'zero.attacker.example': ['0.0.0.0'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'localtest.me': ['127.0.0.1', '::1'],
  'internal.corp.example': ['192.168.1.10'],
  'cgnat.attacker.example': ['100.64.0.1'],
};
const resolve = resolver({ ...HOSTILE_NAMES, 'hooks.example.com': [PUBLIC_V4, PUBLIC_V6] });

async function verdict(url: string, policy = AWS): Promise<string> {
  try {
    return await checkCallbackUrl(url, policy, resolve);
  } catch (error) {
    if (error instanceof CallbackUrlError) return 'refused';
    throw error;
  }
}

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '169.254.169.253',
    '100.64.0.1',
    '192.0.0.170',
    '192.0.2.1',
    '198.18.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '::ffff:8.8.8.8',
    '::127.0.0.1',
    '64:ff9b::7f00:1',
    'fd00:ec2::254',
    'fc00::1',
    'fe80::1',
    'fe80::1%eth0',
    'ff02::1',
    '2001:db8::1',
    '2002:7f00:1::1',
    '2001:0:4136:e378::1',
    'not-an-address',
    '',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([PUBLIC_V4, '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', PUBLIC_V6, '2a00:1450:4001:82b::200e'])(
    'accepts %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('checkCallbackUrl in AWS', () => {
  it('accepts https to a name that resolves to public addresses only, normalised', async () => {
    expect(await verdict('https://Hooks.Example.com:8443/offload?x=1')).toBe(
      'https://hooks.example.com:8443/offload?x=1',
    );
    expect(await verdict(`https://${PUBLIC_V4}/hook`)).toBe(`https://${PUBLIC_V4}/hook`);
    expect(await verdict(`https://[${PUBLIC_V6}]/hook`)).toBe(`https://[${PUBLIC_V6}]/hook`);
  });

  it.each([
    ['plain http', 'http://hooks.example.com/hook'],
    ['another scheme', 'ftp://hooks.example.com/hook'],
    ['a relative URL', '/hook'],
    ['a user', 'https://user@hooks.example.com/hook'],
    ['a password', 'https://user:secret@hooks.example.com/hook'],
    ['a name that does not resolve', 'https://nowhere.example.org/hook'],
    ['a single label', 'https://metadata/computeMetadata/v1'],
    ['localhost', 'https://localhost/hook'],
    ['a localhost subdomain', 'https://api.localhost/hook'],
    ['a name rebound to loopback', 'https://rebind.attacker.example/hook'],
    ['a name with a public and a private address', 'https://mixed.attacker.example/hook'],
    ['a URL over 2048 characters', `https://hooks.example.com/${'a'.repeat(2048)}`],
  ])('refuses %s', async (_case, url) => {
    expect(await verdict(url)).toBe('refused');
  });

  it('accepts http and loopback only with --allow-local-callbacks', async () => {
    expect(await verdict('http://127.0.0.1:4000/hook', LOCAL)).toBe('http://127.0.0.1:4000/hook');
    expect(await verdict('http://localhost:4000/hook', LOCAL)).toBe('refused'); // does not resolve here
    expect(await verdict('https://user:pw@127.0.0.1/hook', LOCAL)).toBe('refused');
  });
});

/**
 * Every way we know to spell an address that is not public, or to smuggle one past a URL check: decimal,
 * octal, hex and short IPv4 forms, IPv6 and its IPv4-mapped, compatible and NAT64 forms, the unspecified
 * address, the metadata service, userinfo tricks, Unicode look-alikes that IDNA maps to ASCII, percent
 * encoding, and names that resolve (or are rebound) to such addresses.
 */
const SSRF_HOSTS = [
  '127.0.0.1',
  '127.1',
  '127.0.1',
  '2130706433',
  '0x7f000001',
  '0x7f.0x0.0x0.0x1',
  '0x7f.1',
  '0177.0.0.1',
  '0177.1',
  '017700000001',
  '0',
  '0.0.0.0',
  '00.0.0.0',
  '169.254.169.254',
  '2852039166',
  '0xa9fea9fe',
  '0251.0376.0251.0376',
  '169.254.169.253',
  '10.0.0.1',
  '0xa.1',
  '172.16.0.1',
  '192.168.1.1',
  '3232235777',
  '100.64.0.1',
  '[::1]',
  '[0:0:0:0:0:0:0:1]',
  '[::]',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
  '[0:0:0:0:0:ffff:127.0.0.1]',
  '[::ffff:169.254.169.254]',
  '[::ffff:a9fe:a9fe]',
  '[::127.0.0.1]',
  '[64:ff9b::127.0.0.1]',
  '[fd00:ec2::254]',
  '[fe80::1]',
  '[fc00::1]',
  '[2002:7f00:1::]',
  'localhost',
  'LOCALHOST',
  'localhost.',
  'foo.localhost',
  'ⓛⓞⓒⓐⓛⓗⓞⓢⓣ',
  '①②⑦.0.0.1',
  '１２７.０.０.１',
  '%31%32%37.0.0.1',
  '127。0。0。1',
  'metadata',
  'instance-data',
  ...Object.keys(HOSTILE_NAMES),
];

/** Ways to wrap a hostile host in a URL: userinfo that looks like a host, ports, paths, both schemes. */
const wrap = fc.constantFrom(
  (host: string) => `https://${host}/hook`,
  (host: string) => `http://${host}/hook`,
  (host: string) => `https://${host}:443/`,
  (host: string) => `https://${host}:8080/a?b=c#d`,
  (host: string) => `https://hooks.example.com@${host}/hook`,
  (host: string) => `https://hooks.example.com:443@${host}/`,
  (host: string) => `https://user:pass@${host}/`,
  (host: string) => `HTTPS://${host}/`,
  (host: string) => `https://${host}./hook`,
);

describe('SSRF corpus (fast-check)', () => {
  it('accepts none of the hostile URLs in AWS', async () => {
    const accepted: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SSRF_HOSTS), wrap, async (host, url) => {
        const candidate = url(host);
        if ((await verdict(candidate)) !== 'refused') accepted.push(candidate);
        return true;
      }),
      { numRuns: 2_000 },
    );
    expect(accepted).toEqual([]);
  });

  it('accepts no generated IPv4 address of a non-public range, in any spelling', async () => {
    const ranges: ReadonlyArray<readonly [number, number]> = [
      [0x00000000, 0x00ffffff],
      [0x0a000000, 0x0affffff],
      [0x64400000, 0x647fffff],
      [0x7f000000, 0x7fffffff],
      [0xa9fe0000, 0xa9feffff],
      [0xac100000, 0xac1fffff],
      [0xc0a80000, 0xc0a8ffff],
      [0xe0000000, 0xffffffff],
    ];
    const spellings = fc.constantFrom(
      (n: number) => String(n),
      (n: number) => `0x${n.toString(16)}`,
      (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'),
      (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((o) => `0${o.toString(8)}`).join('.'),
      (n: number) => `${n >>> 24}.${n & 0xffffff}`,
      (n: number) => `[::ffff:${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')}]`,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ranges).chain(([low, high]) => fc.integer({ min: low, max: high })),
        spellings,
        async (address, spell) => (await verdict(`https://${spell(address)}/hook`)) === 'refused',
      ),
      { numRuns: 2_000 },
    );
  });

  it('accepts generated public IPv4 addresses (the property above is not vacuous)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0x01000000, max: 0x09ffffff }), async (n) => {
        const dotted = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
        return (await verdict(`https://${dotted}/hook`)) === `https://${dotted}/hook`;
      }),
      { numRuns: 200 },
    );
  });
});
