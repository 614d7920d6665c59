import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { forwardedNodes, nodeAddress, xForwardedForNodes, type Nodes } from './forwarding-headers.js';
import { parseIpAddress, type IpAddress } from './ip-address.js';
import { createProxyMatcher, type ProxyRange } from './trusted-proxies.js';

/**
 * Returns the function that names the client of a request, for the failed-authentication limit
 * and the log: the peer's address, unless the peer is a trusted proxy. Then the forwarding
 * headers are walked from the right, past trusted proxies, to the first address that is not one
 * (the rightmost untrusted hop: the only one no client can forge, since each proxy appends its
 * own peer). A hop that cannot be read stops the walk at the trusted proxy that passed it on.
 * When a peer sends both `Forwarded` and `X-Forwarded-For` and they name different clients,
 * neither is believed and the peer itself is the client: a proxy that writes one header passes the
 * other on as the client wrote it, and there is no telling which one it wrote.
 */
export function createClientAddress(ranges: readonly ProxyRange[]): (request: IncomingMessage) => string {
  const isTrusted = createProxyMatcher(ranges);
  const walk = (peer: IpAddress, nodes: Nodes, bareIPv6: boolean): IpAddress => {
    let client = peer;
    for (let i = nodes.length - 1; i >= 0 && isTrusted(client); i--) {
      const node = nodes[i];
      const hop = node === undefined ? undefined : nodeAddress(node, bareIPv6);
      if (hop === undefined) break;
      client = hop;
    }
    return client;
  };

  // A connection's peer is read once: its requests (keep-alive) all come from it.
  const peers = new WeakMap<Socket, IpAddress>();
  return (request) => {
    const { socket } = request;
    let peer = peers.get(socket);
    const remote = peer === undefined ? socket.remoteAddress : peer.address;
    if (peer === undefined && remote !== undefined) {
      peer = parseIpAddress(remote);
      if (peer !== undefined) peers.set(socket, peer);
    }
    if (peer === undefined) return remote ?? 'unknown'; // a closed socket has no address
    if (!isTrusted(peer)) return peer.address;
    const forwarded = header(request, 'forwarded');
    const xForwardedFor = header(request, 'x-forwarded-for');
    const viaForwarded = forwarded === undefined ? undefined : walk(peer, forwardedNodes(forwarded), false);
    const viaXForwardedFor = xForwardedFor === undefined ? undefined : walk(peer, xForwardedForNodes(xForwardedFor), true);
    if (viaForwarded !== undefined && viaXForwardedFor !== undefined && viaForwarded.address !== viaXForwardedFor.address) {
      return peer.address;
    }
    return (viaForwarded ?? viaXForwardedFor ?? peer).address;
  };
}

/** A header's value; Node joins repeated ones with ", ", which is how both lists continue anyway. */
function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
