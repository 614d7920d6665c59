import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createJsonLogger } from '../../src/ops/logger.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer, TEST_API_KEY } from '../helpers/test-server.js';

const PRUNE_FAILED = 'pruning expired idempotency keys failed; no answer changed, it is tried again later';

// A real failure of the pruning, made by the database itself: a trigger refuses every DELETE of
// an idempotency row (as a full disk would refuse its commit).
const REFUSE_PRUNING = TEST_BACKEND === 'postgres'
  ? `CREATE FUNCTION refuse_pruning() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'pruning refused by the test'; END $$;
     CREATE TRIGGER refuse_pruning BEFORE DELETE ON idempotency FOR EACH ROW EXECUTE FUNCTION refuse_pruning()`
  : `CREATE TRIGGER refuse_pruning BEFORE DELETE ON idempotency BEGIN SELECT RAISE(ABORT, 'pruning refused by the test'); END`;

describe('answers once committed', () => {
  it('answers 201 to every event of a committed batch although the pruning after it fails, and stores each once', async () => {
    let pruneFailed!: (line: Record<string, unknown>) => void;
    const logged = new Promise<Record<string, unknown>>((resolve) => (pruneFailed = resolve));
    const log = createJsonLogger((text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (line.msg === PRUNE_FAILED) pruneFailed(line);
    });
    // Pruning after every commit, rather than after every thousandth.
    const server = await startTestServer({ storeOptions: { pruneEveryCommits: 1, log } });
    try {
      assert.equal((await server.post({ user_id: 'prune', event_type: 'old' }, { 'Idempotency-Key': 'expired' })).status, 201);
      await server.database.ageIdempotencyRecords(25 * 60 * 60 * 1000); // now due for pruning
      await server.database.execute(REFUSE_PRUNING);

      const batch = await fetch(`${server.url}/events/batch`, {
        method: 'POST',
        headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ user_id: 'prune', event_type: 'batch', data: { i } }))),
      });
      assert.equal(batch.status, 201);
      assert.equal(batch.headers.get('content-type'), 'application/json; charset=utf-8');
      const { message, ids } = (await batch.json()) as { message: string; ids: string[] };
      assert.equal(message, '5 events recorded');
      assert.equal(ids.length, 5);
      assert.match(String((await logged).error), /pruning refused by the test/);

      // Single events too, several to a commit, each followed by a failing pruning.
      const singles = await Promise.all(Array.from({ length: 10 }, (_, i) => server.post({ user_id: 'prune', event_type: 'single', data: { i } })));
      for (const response of singles) {
        assert.equal(response.status, 201);
        assert.equal(((await response.json()) as { message: string }).message, 'Event recorded');
      }

      const stored = (await (await server.get('user_id=prune')).json()) as Array<{ id: string; event_type: string }>;
      assert.deepEqual(stored.map((event) => event.event_type), ['old', ...Array<string>(5).fill('batch'), ...Array<string>(10).fill('single')]);
      assert.deepEqual(stored.slice(1, 6).map((event) => event.id), ids);
      assert.equal(await server.database.countEvents('prune'), 16);
    } finally {
      await server.close();
    }
  });
});
