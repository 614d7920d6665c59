import { setTimeout as sleep } from 'node:timers/promises';
import type { TestDatabase } from './test-database.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * The test database's URL through a TCP relay the test can take down or freeze, as a database
 * that goes away or stalls would.
 */
export async function relayPostgres(database: TestDatabase): Promise<{ proxy: TcpProxy; url: string }> {
  if (database.location.kind !== 'postgres') throw new Error('not a PostgreSQL test database');
  const direct = new URL(database.location.url);
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const relayed = new URL(direct);
  relayed.hostname = '127.0.0.1';
  relayed.port = String(proxy.port);
  return { proxy, url: relayed.toString() };
}

/**
 * Polls /readyz until it answers `status`, for at most `ms`; returns the last status seen. A poll,
 * the last resort: readiness comes back by itself (a reconnect, a probe at most once a second),
 * with no event to wait for.
 */
export async function readyzBecomes(url: string, status: number, ms = 10_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = (await fetch(`${url}/readyz`)).status;
    if (seen === status || Date.now() > deadline) return seen;
    await sleep(100);
  }
}
