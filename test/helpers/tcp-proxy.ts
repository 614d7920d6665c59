import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type TcpProxy = {
  port: number;
  /** Cuts every connection and refuses new ones, as a database that went down would. */
  stop(): Promise<void>;
  /** Accepts connections again, on the same port. */
  start(): Promise<void>;
  /**
   * Stops forwarding anything, either way, on every connection and on new ones, while keeping them
   * all open: a network that stalls. From now, or (`when`) from the first chunk from the client
   * (or the server) that holds that text, which is held too: a COMMIT the server never got, or
   * the answer to one that it committed.
   */
  freeze(when?: { clientSends: string } | { serverSends: string }): void;
  /** Resolves once a freeze asked for with `when` has begun. */
  frozen(): Promise<void>;
  /**
   * Forwards what was held, in order, and forwards again; a client that went away meanwhile has
   * its connection to the server ended after its held bytes, as a stalled network lets them through.
   */
  thaw(): void;
};

type Pair = { client: Socket; upstream: Socket; held: Array<{ to: Socket; chunk: Buffer }>; clientEnded: boolean };

/** A TCP relay on a local port to `target`, which a test can take down and bring back, or freeze. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let server: Server | undefined;
  let port = 0;
  let frozen = false;
  let freezeOn: { text: Buffer; from: 'client' | 'server' } | undefined;
  let onFrozen: (() => void) | undefined;
  let hasFrozen = Promise.resolve();

  const freezeNow = (): void => {
    frozen = true;
    freezeOn = undefined;
    onFrozen?.();
  };

  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = createConnection(target);
      const pair: Pair = { client, upstream, held: [], clientEnded: false };
      pairs.add(pair);
      const forward = (from: Socket, to: Socket): void => {
        from.on('data', (chunk: Buffer) => {
          if (!frozen && freezeOn !== undefined && (from === client) === (freezeOn.from === 'client') && chunk.includes(freezeOn.text)) freezeNow();
          if (frozen) pair.held.push({ to, chunk });
          else to.write(chunk);
        });
      };
      forward(client, upstream);
      forward(upstream, client);
      const cut = (): void => {
        client.destroy();
        upstream.destroy();
        pairs.delete(pair);
      };
      // A client that leaves during a freeze: the server learns it only when the freeze is over.
      client.on('close', () => {
        if (frozen) pair.clientEnded = true;
        else cut();
      });
      upstream.on('close', () => {
        if (!frozen) cut();
      });
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  };
  await listen();

  return {
    get port() {
      return port;
    },
    async stop() {
      const closed = new Promise((resolve) => server!.close(resolve));
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await closed;
    },
    start: listen,
    freeze(when) {
      if (when === undefined) return freezeNow();
      freezeOn = 'clientSends' in when ? { text: Buffer.from(when.clientSends), from: 'client' } : { text: Buffer.from(when.serverSends), from: 'server' };
      hasFrozen = new Promise((resolve) => (onFrozen = resolve));
    },
    frozen: () => hasFrozen,
    thaw() {
      frozen = false;
      onFrozen = undefined;
      for (const pair of pairs) {
        for (const { to, chunk } of pair.held.splice(0)) if (!to.destroyed) to.write(chunk);
        if (pair.clientEnded) pair.upstream.end();
        else if (pair.client.destroyed || pair.upstream.destroyed) {
          pair.client.destroy();
          pair.upstream.destroy();
        }
      }
    },
  };
}
