import { isIPv4, isIPv6, SocketAddress } from 'node:net';

export type IpAddress = { address: string; family: 'ipv4' | 'ipv6' };

/**
 * An IP address in one spelling, so that one client is one rate-limit bucket and one log value:
 * IPv6 lower-case and compressed, as Node writes it (without a zone), and an IPv4-mapped IPv6
 * address (`::ffff:127.0.0.1`, how a dual-stack socket shows an IPv4 peer) as the IPv4 address.
 * Undefined for anything that is not an address.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (isIPv4(text)) return { address: text, family: 'ipv4' };
  if (!isIPv6(text)) return undefined;
  let address: string;
  try {
    address = new SocketAddress({ address: text, family: 'ipv6' }).address;
  } catch {
    return undefined;
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  return mapped === null ? { address, family: 'ipv6' } : { address: mapped[1]!, family: 'ipv4' };
}
