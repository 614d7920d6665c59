import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { chainHash, GENESIS_HASH } from '../../src/integrity/chain.js';
import { verifyChain } from '../../src/integrity/verify-chain.js';
import { buildPostgresQuerySql } from '../../src/store/postgres/postgres-query-sql.js';
import { migratePostgres, POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres/postgres-schema.js';
import { CHUNK_SIZE, keysetStart } from '../../src/store/read-in-chunks.js';
import { createTestDatabase, TEST_CHAIN_SECRET, type TestDatabase } from '../helpers/test-database.js';

/** A fresh PostgreSQL test database for the enclosing suite, and a client on its schema. */
function useFreshDatabase(): { database: TestDatabase; client: pg.Client } {
  const fresh = {} as { database: TestDatabase; client: pg.Client };
  before(async () => {
    fresh.database = await createTestDatabase('postgres');
    if (fresh.database.location.kind !== 'postgres') throw new Error('not a PostgreSQL test database');
    fresh.client = new pg.Client(fresh.database.location.url);
    await fresh.client.connect();
  });
  after(async () => {
    await fresh.client.end();
    await fresh.database.drop();
  });
  return fresh;
}

describe('the PostgreSQL schema', () => {
  const fresh = useFreshDatabase();

  it('is created at the current version on first start, and the version is recorded', async () => {
    const store = await fresh.database.openStore();
    await store.close();
    const { rows } = await fresh.client.query('SELECT version FROM auditor_schema_version');
    assert.deepEqual(rows, [{ version: POSTGRES_SCHEMA_VERSION }]);
  });

  it('refuses to change or remove an event, whoever asks', async () => {
    const store = await fresh.database.openStore();
    await store.append({ userId: 'kept', eventType: 't', dataJson: '{}' });
    await store.close();
    for (const statement of ["UPDATE events SET user_id = 'x'", 'DELETE FROM events', 'TRUNCATE events']) {
      await assert.rejects(fresh.client.query(statement), /events are append-only/, statement);
    }
    assert.equal(await fresh.database.countEvents('kept'), 1);
  });

  it('serves a sparse data filter on a busy user from the GIN index', async () => {
    const store = await fresh.database.openStore();
    const events = Array.from({ length: 20_000 }, (_, i) => ({ userId: 'busy', eventType: 't', dataJson: `{"n":${i},"rare":${i === 777}}` }));
    for (let i = 0; i < events.length; i += 1000) await store.appendAll(events.slice(i, i + 1000));
    const query = { userId: 'busy', eventTypes: [], dataFilters: [{ path: ['n'], values: ['777'] }], order: 'asc' as const };
    const found = [];
    for await (const chunk of store.query(query)) found.push(...chunk);
    await store.close();
    assert.deepEqual(found.map((event) => event.dataJson), ['{"n":777,"rare":true}']);

    await fresh.client.query('ANALYZE events');
    const { sql, params } = buildPostgresQuerySql(query, []);
    const start = keysetStart(query);
    const { rows } = await fresh.client.query(`EXPLAIN ${sql}`, [start.afterTs, start.afterSeq, 100, CHUNK_SIZE, ...params]);
    const plan = rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
    assert.match(plan, /events_by_data/, plan);
  });
});

describe('an older PostgreSQL schema', () => {
  const fresh = useFreshDatabase();

  it('is upgraded in place on start-up, keeping its events and their chain', async () => {
    await migratePostgres(fresh.client, 1);
    const old = { id: '01890a5d-ac96-774b-bcce-b302099a8057', timestampMs: 1_688_000_000_000, userId: 'old', eventType: 't', dataJson: '{"b":1,"a":2}', keyName: 'svc' };
    const hash = chainHash(Buffer.from(TEST_CHAIN_SECRET), GENESIS_HASH, old);
    await fresh.client.query(
      'INSERT INTO events (seq, id, ts, user_id, event_type, data, key_name, hash) VALUES (1, $1, $2, $3, $4, $5, $6, $7)',
      [old.id, old.timestampMs, old.userId, old.eventType, old.dataJson, old.keyName, hash],
    );

    const store = await fresh.database.openStore();
    try {
      const added = await store.append({ userId: 'old', eventType: 'new', dataJson: '{}', keyName: 'svc', idempotencyKey: 'k' });
      assert.equal(added.seq, 2);
      const found = [];
      for await (const chunk of store.query({ userId: 'old', eventTypes: [], dataFilters: [], order: 'asc' })) found.push(...chunk);
      assert.deepEqual(found.map((event) => [event.id, event.dataJson]), [[old.id, old.dataJson], [added.id, '{}']]);
    } finally {
      await store.close();
    }
    const { rows } = await fresh.client.query('SELECT version FROM auditor_schema_version');
    assert.deepEqual(rows, [{ version: POSTGRES_SCHEMA_VERSION }]);
    const verdict = await verifyChain(await fresh.database.chainRows(), Buffer.from(TEST_CHAIN_SECRET));
    assert.equal(verdict.ok, true, JSON.stringify(verdict.broken));
    assert.equal(verdict.chained, 2);
  });

  it('is not touched by an Auditor older than it: start-up fails and says why', async () => {
    await fresh.client.query('UPDATE auditor_schema_version SET version = 99');
    try {
      await assert.rejects(fresh.database.openStore(), /schema version 99; this Auditor knows up to/);
    } finally {
      await fresh.client.query('UPDATE auditor_schema_version SET version = $1', [POSTGRES_SCHEMA_VERSION]);
    }
  });
});
