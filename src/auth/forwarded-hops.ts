import { isIPv6 } from 'node:net';
import { parseIpAddress, type IpAddress } from './ip-address.js';

/** A hop the walk cannot read: no `for`, `unknown`, an obfuscated `_name`, or garbage. */
export type Hop = IpAddress | undefined;

/**
 * The addresses a `Forwarded` header (RFC 7239) names, one per element, farthest first. A
 * `for` value is read as an IPv4 address or a bracketed IPv6 one, either with an optional port
 * (`for=192.0.2.60`, `for="[2001:db8::1]:4711"`); quoting is optional, as some proxies forget it.
 * An element that cannot be read is an unreadable hop, and reading goes on after the next comma,
 * so that garbage a client sent cannot hide the element its proxy appended.
 */
export function forwardedHops(header: string): Hop[] {
  const hops: Hop[] = [];
  let at = 0;
  while (at <= header.length) {
    const { hop, empty, end } = readElement(header, at);
    if (!empty) hops.push(hop);
    at = end + 1;
  }
  return hops;
}

/**
 * The addresses an `X-Forwarded-For` header names, farthest first: comma-separated IPv4 or
 * IPv6 addresses, bare or with a port (`192.0.2.60:8080`, `[2001:db8::1]:4711`).
 */
export function xForwardedForHops(header: string): Hop[] {
  return header.split(',').map((part) => nodeAddress(part.trim(), true));
}

// A pair is token=token or token="quoted string"; the unquoted value also takes ':' and brackets,
// which RFC 7239 wants quoted but proxies write bare. Linear: no nested quantifiers.
const PAIR = /[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\[\s\S])*)"|([!#$%&'*+.^_`|~0-9A-Za-z:[\]-]*))[ \t]*/y;
const BLANK = /[ \t]*/y;

/** Reads the element that starts at `start`, up to the comma that ends it (`end`). */
function readElement(header: string, start: number): { hop: Hop; empty: boolean; end: number } {
  let at = start;
  let node: string | undefined;
  let pairs = 0;
  let readable = true;
  for (;;) {
    BLANK.lastIndex = at;
    BLANK.exec(header);
    at = BLANK.lastIndex;
    if (at < header.length && header[at] !== ';' && header[at] !== ',') {
      PAIR.lastIndex = at;
      const pair = PAIR.exec(header);
      if (pair === null) return skipToComma(header, at);
      at = PAIR.lastIndex;
      pairs++;
      if (pair[1]!.toLowerCase() === 'for') {
        if (node !== undefined) readable = false; // two `for`s in one element: which is meant?
        node = pair[2] === undefined ? pair[3]! : pair[2].replace(/\\([\s\S])/g, '$1');
      }
    }
    if (at >= header.length || header[at] === ',') {
      const hop = readable && node !== undefined ? nodeAddress(node, false) : undefined;
      return { hop, empty: pairs === 0, end: at };
    }
    if (header[at] !== ';') return skipToComma(header, at);
    at++;
  }
}

function skipToComma(header: string, from: number): { hop: Hop; empty: boolean; end: number } {
  const comma = header.indexOf(',', from);
  return { hop: undefined, empty: false, end: comma === -1 ? header.length : comma };
}

/**
 * The address in a node: IPv4 or bracketed IPv6, with an optional port. A bare IPv6 address is
 * taken only where there can be no port (X-Forwarded-For): in `Forwarded`, `2001:db8::1:4711`
 * would be a different address than the one its writer meant.
 */
function nodeAddress(node: string, bareIPv6: boolean): Hop {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(node);
  if (bracketed !== null) return isIPv6(bracketed[1]!) ? parseIpAddress(bracketed[1]!) : undefined;
  const ipv4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$/.exec(node);
  if (ipv4 !== null) return parseIpAddress(ipv4[1]!);
  return bareIPv6 && isIPv6(node) ? parseIpAddress(node) : undefined;
}
