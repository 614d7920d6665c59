import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openPostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import { createTestDatabase, TEST_CHAIN_SECRET, type TestDatabase } from '../helpers/test-database.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/** Polls /readyz until it answers `status`, for at most `ms`; returns the last status seen. */
async function readyzBecomes(url: string, status: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = (await fetch(`${url}/readyz`)).status;
    if (seen === status || Date.now() > deadline) return seen;
    await sleep(100);
  }
}

describe('readiness on PostgreSQL', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;

  before(async () => {
    database = await createTestDatabase('postgres');
    if (database.location.kind !== 'postgres') throw new Error('not a PostgreSQL test database');
    // The service reaches the database through a relay the test can take down.
    const direct = new URL(database.location.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const relayed = new URL(direct);
    relayed.hostname = '127.0.0.1';
    relayed.port = String(proxy.port);
    const store = await openPostgresEventStore(relayed.toString(), { chainSecret: TEST_CHAIN_SECRET });
    server = await startTestServer({ store });
  });
  after(async () => {
    await server.close();
    await proxy.stop();
    await database.drop();
  });

  it('fails /readyz, writes and reads with 503 while the database is down, and recovers when it returns, without a restart', async () => {
    const before = await server.post({ user_id: 'outage', event_type: 'before' });
    assert.equal(before.status, 201);
    const { id: firstId } = (await before.json()) as { id: string };
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

    await proxy.stop();
    assert.equal(await readyzBecomes(server.url, 503, 5000), 503);
    const refused = await server.post({ user_id: 'outage', event_type: 'during' });
    assert.equal(refused.status, 503);
    assert.match(await errorMessage(refused), /not recorded/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'alive, only not ready');
    // Reads say the same, before any byte of an answer: 503, a JSON reason, when to retry.
    const reads: Array<[string, Record<string, string>]> = [
      ['/events?user_id=outage', {}],
      ['/events?user_id=outage', { Accept: 'text/csv' }],
      ['/events?user_id=outage&limit=10', {}],
      [`/events/${firstId}`, {}],
      ['/integrity', {}],
    ];
    for (const [path, headers] of reads) {
      const response = await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': TEST_API_KEY, ...headers } });
      assert.equal(response.status, 503, path);
      assert.equal(response.headers.get('retry-after'), '1', path);
      assert.match(await errorMessage(response), /could not be read/, path);
    }

    await proxy.start();
    assert.equal(await readyzBecomes(server.url, 200, 10_000), 200);
    assert.equal((await server.post({ user_id: 'outage', event_type: 'after' })).status, 201);
    const events = (await (await server.get('user_id=outage')).json()) as Array<{ event_type: string }>;
    assert.deepEqual(events.map((event) => event.event_type), ['before', 'after']);
    assert.equal((await fetch(`${server.url}/events/${firstId}`, { headers: { 'X-API-Key': TEST_API_KEY } })).status, 200);
  });
});
