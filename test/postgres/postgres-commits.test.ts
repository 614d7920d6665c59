import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createPostgresPool } from '../../src/store/postgres/postgres-pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

describe('commits on PostgreSQL', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase('postgres');
  });
  after(() => database.drop());

  it('commits concurrent events together, each once, with seq in commit order and no gaps', async () => {
    const batches: number[] = [];
    const store = await database.openStore({ onTransactionCommitted: (events) => batches.push(events) });
    try {
      const stored = await Promise.all(
        Array.from({ length: 300 }, (_, i) => store.append({ userId: 'grouped', eventType: 't', dataJson: `{"i":${i}}` })),
      );
      assert.equal(batches.reduce((sum, events) => sum + events, 0), 300);
      assert.ok(batches.length < 30 && Math.max(...batches) > 10, `300 events in ${batches.length} commits: ${batches.join(', ')}`);
      assert.deepEqual(stored.map((event) => event.seq).sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i + 1));
      assert.equal(await database.countEvents('grouped'), 300);
    } finally {
      await store.close();
    }
  });

  it('never gives an event a timestamp earlier than the newest one, whatever this clock says', async () => {
    // As if another instance, whose clock runs an hour ahead, had written last.
    const ahead = Date.now() + 3_600_000;
    if (database.location.kind !== 'postgres') throw new Error('not a PostgreSQL test database');
    const client = new pg.Client(database.location.url);
    await client.connect();
    try {
      const { rows } = await client.query<{ seq: string }>('SELECT coalesce(max(seq), 0) + 1 AS seq FROM events');
      await client.query(
        `INSERT INTO events (seq, id, ts, user_id, event_type, data) VALUES ($1, '01ffffff-ffff-7fff-bfff-ffffffffffff', $2, 'ahead', 't', '{}')`,
        [rows[0]!.seq, ahead],
      );
    } finally {
      await client.end();
    }
    const store = await database.openStore();
    try {
      const next = await store.append({ userId: 'ahead', eventType: 't', dataJson: '{}' });
      assert.ok(next.timestampMs >= ahead, `${next.timestampMs} is not before ${ahead}`);
      const order = [];
      for await (const chunk of store.query({ userId: 'ahead', eventTypes: [], dataFilters: [], order: 'asc' })) order.push(...chunk);
      assert.deepEqual(order.map((event) => event.id).at(-1), next.id, 'the newest event comes last in time order');
    } finally {
      await store.close();
    }
  });

  it('commits synchronously even where the server or the URL says otherwise', async () => {
    if (database.location.kind !== 'postgres') throw new Error('not a PostgreSQL test database');
    const url = new URL(database.location.url);
    url.searchParams.set('options', `${url.searchParams.get('options')} -c synchronous_commit=off`);
    const pool = createPostgresPool(url.toString());
    try {
      const { rows } = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      assert.equal(rows[0]!.synchronous_commit, 'on');
    } finally {
      await pool.end();
    }
  });
});
