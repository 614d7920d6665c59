import { isIPv6 } from 'node:net';
import { parseIpAddress, type IpAddress } from './ip-address.js';

/**
 * The hops of the forwarding headers, farthest first: each a node (an address as written,
 * perhaps with a port) or undefined where an element cannot be read. Nodes are read as addresses
 * only as the walk reaches them (`nodeAddress`), as most of a long header is never needed.
 */
export type Nodes = Array<string | undefined>;

/**
 * The `for` node of each element of a `Forwarded` header (RFC 7239): undefined for an element
 * without one, with two, or that cannot be read. Quoting is optional, as some proxies forget it.
 * After an element that cannot be read, reading goes on at the next comma, so that garbage a
 * client sent cannot hide the element its proxy appended.
 */
export function forwardedNodes(header: string): Nodes {
  const nodes: Nodes = [];
  let at = 0;
  while (at <= header.length) {
    const { node, empty, end } = readElement(header, at);
    if (!empty) nodes.push(node);
    at = end + 1;
  }
  return nodes;
}

/** The nodes of an `X-Forwarded-For` header: its comma-separated parts. */
export function xForwardedForNodes(header: string): Nodes {
  return header.split(',').map((part) => part.trim());
}

// A pair is token=token or token="quoted string"; the unquoted value also takes ':' and brackets,
// which RFC 7239 wants quoted but proxies write bare. Linear: the alternatives in a quoted string
// never match the same text, so a failed match does not backtrack into them.
const PAIR = /[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\[\s\S])*)"|([!#$%&'*+.^_`|~0-9A-Za-z:[\]-]*))[ \t]*/y;
const BLANK = /[ \t]*/y;

/** Reads the element that starts at `start`, up to the comma that ends it (`end`). */
function readElement(header: string, start: number): { node: string | undefined; empty: boolean; end: number } {
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
    if (at >= header.length || header[at] === ',') return { node: readable ? node : undefined, empty: pairs === 0, end: at };
    if (header[at] !== ';') return skipToComma(header, at);
    at++;
  }
}

function skipToComma(header: string, from: number): { node: undefined; empty: false; end: number } {
  const comma = header.indexOf(',', from);
  return { node: undefined, empty: false, end: comma === -1 ? header.length : comma };
}

/**
 * The address in a node: IPv4 or bracketed IPv6, either with an optional port (`192.0.2.60:80`,
 * `[2001:db8::1]:4711`); undefined for `unknown`, an obfuscated `_name` or anything else. A bare
 * IPv6 address is taken only where there can be no port (X-Forwarded-For): in `Forwarded`,
 * `2001:db8::1:4711` would be a different address than the one its writer meant.
 */
export function nodeAddress(node: string, bareIPv6: boolean): IpAddress | undefined {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(node);
  if (bracketed !== null) return isIPv6(bracketed[1]!) ? parseIpAddress(bracketed[1]!) : undefined;
  const ipv4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$/.exec(node);
  if (ipv4 !== null) return parseIpAddress(ipv4[1]!);
  return bareIPv6 && isIPv6(node) ? parseIpAddress(node) : undefined;
}
