import { BlockList, isIPv6 } from 'node:net';
import { parseIpAddress, type IpAddress } from './ip-address.js';

/** One entry of AUDITOR_TRUSTED_PROXIES: an address, or a network in CIDR notation. */
export type ProxyRange = { network: string; prefix: number; family: 'ipv4' | 'ipv6' };

/**
 * AUDITOR_TRUSTED_PROXIES read as ranges: comma-separated IPv4/IPv6 addresses and CIDRs
 * (`10.0.0.0/8, 192.168.1.10, fd00::/8`). `bad` lists the entries that are neither, as written.
 * A range written as IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) is kept as the IPv4 range it maps,
 * since peers are compared in their IPv4 spelling.
 */
export function parseTrustedProxies(text: string): { ranges: ProxyRange[]; bad: string[] } {
  const ranges: ProxyRange[] = [];
  const bad: string[] = [];
  for (const entry of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const range = parseRange(entry);
    if (range === undefined) bad.push(entry);
    else ranges.push(range);
  }
  return { ranges, bad };
}

function parseRange(entry: string): ProxyRange | undefined {
  const [text = '', prefixText, extra] = entry.split('/');
  const ip = parseIpAddress(text);
  if (ip === undefined || extra !== undefined) return undefined;
  const bits = ip.family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { network: ip.address, prefix: bits, family: ip.family };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  // A prefix given for the IPv6 spelling of an IPv4-mapped address counts 96 bits of ::ffff: first.
  const prefix = Number(prefixText) - (ip.family === 'ipv4' && isIPv6(text) ? 96 : 0);
  return prefix >= 0 && prefix <= bits ? { network: ip.address, prefix, family: ip.family } : undefined;
}

/**
 * Whether an address is one of the trusted proxies (Node's BlockList does the CIDR matching). An
 * address is matched against the ranges of its own family only: BlockList also matches an IPv4
 * address against IPv6 ranges through its mapped form, so `::/0` (or any range over ::ffff:0:0/96)
 * would have trusted every IPv4 peer to name its own client.
 */
export function createProxyMatcher(ranges: readonly ProxyRange[]): (ip: IpAddress) => boolean {
  if (ranges.length === 0) return () => false;
  const lists = { ipv4: new BlockList(), ipv6: new BlockList() };
  for (const { network, prefix, family } of ranges) lists[family].addSubnet(network, prefix, family);
  return (ip) => lists[ip.family].check(ip.address, ip.family);
}
