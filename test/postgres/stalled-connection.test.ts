import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PostgresBounds } from '../../src/store/postgres/postgres-bounds.js';
import { openPostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import { captureLog, type CapturedLog } from '../helpers/capture-log.js';
import { createTestDatabase, TEST_CHAIN_SECRET, testSigningKeyFile, type TestDatabase } from '../helpers/test-database.js';
import { readyzBecomes, relayPostgres } from '../helpers/relayed-postgres.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/**
 * The service's bounds, shortened so that a stall is answered in about 3 s rather than 20: the
 * same rules, smaller numbers.
 */
const BOUNDS: PostgresBounds = { statementTimeoutMs: 2000, lockTimeoutMs: 1000, writeBaseMs: 2000, writeMsPerMib: 1000, stallMarginMs: 1000 };
/** Without bounds a stalled write is never answered: the test would wait for this, and fail. */
const NEVER = { timeout: 60_000 };

const NOT_RECORDED = 'The event could not be stored and was not recorded; retry later';
const UNCONFIRMED = 'The database did not confirm the commit: the event may or may not have been recorded. Retry with the same ' +
  'Idempotency-Key: that stores it once, whichever happened';

async function assertUnavailable(response: Response, message: string): Promise<void> {
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('retry-after'), '1');
  assert.deepEqual(await response.json(), { message });
}

describe('a stalled connection to PostgreSQL', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;
  let log: CapturedLog;

  before(async () => {
    database = await createTestDatabase('postgres');
    // The service reaches the database through a relay that the test can freeze.
    let url: string;
    ({ proxy, url } = await relayPostgres(database));
    log = captureLog();
    const store = await openPostgresEventStore(url, { chainSecret: TEST_CHAIN_SECRET, signingKeyFile: testSigningKeyFile(), bounds: BOUNDS, log: log.logger });
    server = await startTestServer({ store, log: log.logger });
  });
  after(async () => {
    proxy.thaw();
    await server.close();
    await proxy.stop();
    await database.drop();
  });

  const post = (userId: string, eventType: string, idempotencyKey: string): Promise<Response> =>
    server.post({ user_id: userId, event_type: eventType }, { 'Idempotency-Key': idempotencyKey });

  it('answers a write 503, not recorded, within its bound when the connection stalls before the commit; not ready until it thaws', NEVER, async () => {
    assert.equal((await post('stall', 'before', 'stall-before')).status, 201);

    proxy.freeze();
    await assertUnavailable(await post('stall', 'during', 'stall-during'), NOT_RECORDED);
    await assertUnavailable(await fetch(`${server.url}/readyz`), 'The database cannot store events now');

    proxy.thaw();
    assert.equal(await readyzBecomes(server.url, 200), 200);
    assert.equal((await post('stall', 'after', 'stall-after')).status, 201);
    const events = (await (await server.get('user_id=stall')).json()) as Array<{ event_type: string }>;
    assert.deepEqual(events.map((event) => event.event_type), ['before', 'after'], 'the stalled write never committed, then or later');
    assert.equal(await database.countEvents('stall'), 2);

    const refused = log.lines.filter((line) => String(line.msg).startsWith('writes refused: '));
    assert.ok(refused.length > 0);
    for (const line of refused) {
      assert.equal(line.level, 'error');
      assert.match(String(line.msg), /^writes refused: the database cannot be reached or did not answer in time \((Query read timeout|timeout exceeded when trying to connect|Connection terminated[^)]*)\)$/);
    }
  });

  it('answers 503 saying the event may have been recorded when the COMMIT goes unconfirmed, and a retry with its key stores it once', NEVER, async () => {
    // The server commits, and its answer is held: the service cannot know.
    proxy.freeze({ serverSends: 'COMMIT' });
    await assertUnavailable(await post('unconfirmed', 'payment', 'unconfirmed-1'), UNCONFIRMED);
    await proxy.frozen();
    proxy.thaw();
    assert.equal(await readyzBecomes(server.url, 200), 200);

    const retried = await post('unconfirmed', 'payment', 'unconfirmed-1');
    assert.equal(retried.status, 201);
    assert.equal(retried.headers.get('idempotent-replayed'), 'true', 'it had been recorded');
    assert.equal(await database.countEvents('unconfirmed'), 1);
    const stored = await fetch(`${server.url}${retried.headers.get('location')}`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(stored.status, 200);
    assert.deepEqual(log.lines.filter((line) => String(line.msg).startsWith('writes refused: the database did not confirm')).map((line) => line.msg),
      ['writes refused: the database did not confirm the COMMIT (Query read timeout)']);
  });
});
