import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ValidationError } from '../errors.js';

/** What a deployment lets callbacks reach. */
export interface CallbackUrlPolicy {
  /**
   * `npm start -- --allow-local-callbacks` only: plain http and loopback or private addresses, so a
   * receiver on this machine can be called. Never set in AWS.
   */
  readonly allowLocal: boolean;
}

/** One resolved address of a host name, as `dns.lookup` reports it. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to every address it has (`dns.lookup` with `all`); tests pass a fake. */
export type ResolveHost = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const resolveWithDns: ResolveHost = (hostname) => dnsLookup(hostname, { all: true });

/** Longest callback URL accepted: it is stored with the task and shown in every view. */
export const MAX_CALLBACK_URL_LENGTH = 2048;

/** Refusals name the rule, never echo the URL's resolution back in detail. */
export class CallbackUrlError extends ValidationError {
  constructor(reason: string) {
    super('InvalidCallbackUrl', `The callbackUrl cannot be used: ${reason}.`, [
      { path: 'callbackUrl', message: reason },
    ]);
    this.name = 'CallbackUrlError';
  }
}

/**
 * IPv4 ranges that are not the public internet (IANA special-purpose registry): this network, private,
 * shared (carrier NAT), loopback, link-local (the instance metadata service at 169.254.169.254 and
 * AWS's DNS at .253), protocol assignments, documentation, 6to4 relays, benchmarking, multicast and
 * reserved (broadcast included).
 */
const NON_PUBLIC_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.31.196.0', 24],
  ['192.52.193.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['192.175.48.0', 24],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

/**
 * IPv6 is public only inside global unicast (2000::/3), which leaves out loopback, unspecified,
 * IPv4-mapped (`::ffff:127.0.0.1`), IPv4-compatible, NAT64 (64:ff9b::/96), unique local (fc00::/7,
 * where AWS serves the metadata service at fd00:ec2::254), link-local and multicast at once. Inside it,
 * the ranges that embed IPv4 addresses or are not routed: protocol assignments with Teredo (2001::/23),
 * documentation (2001:db8::/32, 3fff::/20), 6to4 (2002::/16) and AS112.
 */
const GLOBAL_UNICAST_V6: ReadonlyArray<readonly [string, number]> = [['2000::', 3]];
const NON_PUBLIC_V6: ReadonlyArray<readonly [string, number]> = [
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['2620:4f:8000::', 48],
  ['3fff::', 20],
];

const nonPublicV4 = new BlockList();
for (const [network, prefix] of NON_PUBLIC_V4) nonPublicV4.addSubnet(network, prefix, 'ipv4');
const globalUnicastV6 = new BlockList();
for (const [network, prefix] of GLOBAL_UNICAST_V6) globalUnicastV6.addSubnet(network, prefix, 'ipv6');
const nonPublicV6 = new BlockList();
for (const [network, prefix] of NON_PUBLIC_V6) nonPublicV6.addSubnet(network, prefix, 'ipv6');

/**
 * True for an address on the public internet. Anything else (a name, a zone id, an address of a
 * range above) is false: the check fails closed.
 */
export function isPublicAddress(address: string): boolean {
  if (address.includes('%')) return false; // a zone id: link-local by definition
  switch (isIP(address)) {
    case 4:
      return !nonPublicV4.check(address, 'ipv4');
    case 6:
      return globalUnicastV6.check(address, 'ipv6') && !nonPublicV6.check(address, 'ipv6');
    default:
      return false;
  }
}

/** The host of a parsed URL without the brackets of an IPv6 literal or a trailing dot. */
export const bareHostname = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');

/**
 * The checks that need no DNS: an absolute `https` URL (http too with `allowLocal`), no credentials in
 * it, a host that is a public IP address or a name with a dot that is not `localhost`. The WHATWG URL
 * parser normalises the host first (decimal, octal and hex IPv4 forms become dotted quads, IPv6 is
 * compressed, Unicode is mapped to ASCII), so every spelling of an address is checked as that address.
 */
export function parseCallbackUrl(text: string, policy: CallbackUrlPolicy): URL {
  if (text.length > MAX_CALLBACK_URL_LENGTH) throw new CallbackUrlError(`longer than ${MAX_CALLBACK_URL_LENGTH}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CallbackUrlError('not an absolute URL');
  }
  const schemes = policy.allowLocal ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) throw new CallbackUrlError(`the scheme must be ${schemes.join(' or ')}`);
  if (url.username !== '' || url.password !== '') throw new CallbackUrlError('credentials in the URL');
  const host = bareHostname(url);
  if (host === '') throw new CallbackUrlError('no host');
  if (policy.allowLocal) return url;
  if (isIP(host) !== 0) {
    if (!isPublicAddress(host)) throw new CallbackUrlError('the address is not public');
    return url;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) throw new CallbackUrlError('the host is local');
  // A single label resolves through search domains to internal names (metadata, intranet hosts).
  if (!host.includes('.')) throw new CallbackUrlError('the host is not a fully qualified name');
  return url;
}

/**
 * Every address `host` resolves to, each checked: all must be public, or the host is refused (a name
 * with both kinds of answers is what a rebinding attack serves). Local policy checks nothing.
 */
export async function resolvePublicAddresses(
  host: string,
  policy: CallbackUrlPolicy,
  resolve: ResolveHost,
): Promise<readonly ResolvedAddress[]> {
  if (isIP(host) !== 0) return [{ address: host, family: isIP(host) }];
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch {
    throw new CallbackUrlError('the host does not resolve');
  }
  if (addresses.length === 0) throw new CallbackUrlError('the host does not resolve');
  if (!policy.allowLocal && !addresses.every((resolved) => isPublicAddress(resolved.address))) {
    throw new CallbackUrlError('the host resolves to an address that is not public');
  }
  return addresses;
}

/**
 * The check at submission: the URL's form, then its host's addresses. Returns the URL as it will be
 * called (normalised). The same check runs again at every delivery, on the address actually connected
 * to (shared/callbacks/http-callback-sender.ts), because a name may resolve elsewhere by then.
 */
export async function checkCallbackUrl(text: string, policy: CallbackUrlPolicy, resolve: ResolveHost): Promise<string> {
  const url = parseCallbackUrl(text, policy);
  await resolvePublicAddresses(bareHostname(url), policy, resolve);
  return url.href;
}
