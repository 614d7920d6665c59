/**
 * How PostgreSQL reads each query shape: the declared fields' indexes made and dropped at start-up,
 * and the planner's plans (EXPLAIN) over a log with statistics, which never scan the whole table
 * when an index could narrow the query.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { EventQuery, NewEvent } from '../../src/events/event.js';
import { fieldIndexName, parseIndexedFields } from '../../src/store/indexed-fields.js';
import { buildPostgresQuerySql, buildPostgresSummarySql, buildTypeCountBoundsSql } from '../../src/store/postgres/postgres-query-sql.js';
import { CHUNK_SIZE, keysetStart } from '../../src/store/read-in-chunks.js';
import { captureLog } from '../helpers/capture-log.js';
import { createTestDatabase, TEST_CHAIN_SECRET, type TestDatabase } from '../helpers/test-database.js';

const START = Date.parse('2032-01-01T00:00:00Z');
const EVENTS = 20_000;
const FIELDS = parseIndexedFields('flag,address.city').fields;
const FLAG = fieldIndexName(['flag']);
const CITY = fieldIndexName(['address', 'city']);

const query = (more: Partial<EventQuery> = {}): EventQuery => ({ eventTypes: [], dataFilters: [], order: 'asc', ...more });

describe('PostgreSQL query plans', () => {
  let database: TestDatabase;
  let client: pg.Client;
  const log = captureLog();

  before(async () => {
    database = await createTestDatabase('postgres');
    if (database.location.kind !== 'postgres') throw new Error('not a PostgreSQL test database');
    let now = START;
    const store = await database.openStore({ chainSecret: TEST_CHAIN_SECRET, clock: () => now, log: log.logger, indexedFields: FIELDS });
    // Half the events are one hot user's; one in 1,000 of those is flagged rare. A second per event.
    const events: NewEvent[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const hot = i % 2 === 0;
      events.push({ userId: hot ? 'hot' : `u${i % 997}`, eventType: 'abcde'[i % 5]!, dataJson: JSON.stringify({ flag: hot && i % 2000 === 0 ? 'rare' : 'common', address: { city: `c${i % 500}` } }) });
    }
    for (let i = 0; i < EVENTS; i += 1000) {
      now = START + i * 1000;
      await store.appendAll(events.slice(i, i + 1000));
    }
    await store.close();
    client = new pg.Client(database.location.url);
    await client.connect();
    await client.query('ANALYZE events');
  });
  after(async () => {
    await client.end();
    await database.drop();
  });

  async function explain(shape: EventQuery): Promise<string> {
    const { sql, params } = buildPostgresQuerySql(shape, FIELDS);
    const start = keysetStart(shape);
    const { rows } = await client.query(`EXPLAIN ${sql}`, [start.afterTs, start.afterSeq, 101, CHUNK_SIZE, ...params]);
    return rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
  }

  it('creates a B-tree for each declared field at start-up, saying how long it took, and drops one no longer declared', async () => {
    const indexes = async () => (await client.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'events_by_field_%' ORDER BY indexname`)).rows;
    assert.deepEqual((await indexes()).map((row) => row.indexname), [FLAG, CITY].sort());
    assert.match((await indexes()).find((row) => row.indexname === CITY)!.indexdef, /ON [\w.]*events USING btree \(\(\(\(data_index -> 'address'::text\) -> 'city'::text\)\), seq\)$/);
    const created = log.lines.filter((line) => line.msg === 'indexed a field AUDITOR_INDEXED_FIELDS declares');
    assert.deepEqual(created.map((line) => [line.field, line.index, typeof line.seconds]), [['flag', FLAG, 'number'], ['address.city', CITY, 'number']]);

    const reopened = captureLog();
    const store = await database.openStore({ chainSecret: TEST_CHAIN_SECRET, log: reopened.logger, indexedFields: parseIndexedFields('flag').fields });
    await store.close();
    assert.deepEqual((await indexes()).map((row) => row.indexname), [FLAG]);
    const dropped = reopened.lines.filter((line) => line.msg === 'dropped the index of a field AUDITOR_INDEXED_FIELDS no longer declares');
    assert.deepEqual(dropped.map((line) => line.index), [CITY]);

    const again = await database.openStore({ chainSecret: TEST_CHAIN_SECRET, indexedFields: FIELDS });
    await again.close();
    assert.deepEqual((await indexes()).map((row) => row.indexname), [FLAG, CITY].sort());
    await client.query('ANALYZE events');
  });

  for (const [name, shape, indexes] of [
    ['a hot user\'s sparse filter on a declared field', query({ userId: 'hot', dataFilters: [{ path: ['flag'], values: ['rare'] }] }), [FLAG, 'events_by_data']],
    ['a sparse declared field across users, newest first', query({ dataFilters: [{ path: ['flag'], values: ['rare'] }], order: 'desc' }), [FLAG, 'events_by_data']],
    ['a nested declared field across users', query({ dataFilters: [{ path: ['address', 'city'], values: ['c7'] }] }), [CITY, 'events_by_data']],
    ['an event type in the last hour across users', query({ eventTypes: ['a'], since: START + (EVENTS - 3600) * 1000 }), ['events_by_type', 'events_pkey']],
    ['a time range alone', query({ since: START + 5_000_000, until: START + 5_100_000 }), ['events_pkey']],
    ['one user\'s events', query({ userId: 'u5', order: 'desc' }), ['events_by_user_time']],
  ] as const) {
    it(`reads ${name} through an index (${indexes.join(' or ')}), never a scan of the table`, async () => {
      const plan = await explain(shape);
      assert.match(plan, new RegExp(`(Index|Bitmap Index) Scan (Backward )?(using|on) (${indexes.join('|')})\\b`), plan);
      assert.doesNotMatch(plan, /Seq Scan on events/, plan);
    });
  }

  async function explainSummary(groupBy: 'event_type' | 'user_id'): Promise<string> {
    const shape = query({ since: START + (EVENTS - 3600) * 1000 });
    const bounds = buildTypeCountBoundsSql(shape);
    const row = (await client.query(bounds.sql, bounds.params)).rows[0] as Record<string, string | null>;
    const typeBounds = { fromSeq: Number(row.fromSeq), toSeq: Number(row.toSeq), orderedFromSeq: Number(row.orderedFromSeq), earlierMaxTs: null };
    // A thousand events a second apart: the first at or after the range is the 17th thousand's first.
    assert.deepEqual(typeBounds, { fromSeq: 17_001, toSeq: Number.MAX_SAFE_INTEGER, orderedFromSeq: 1, earlierMaxTs: null });
    const { sql, params } = buildPostgresSummarySql(shape, groupBy, FIELDS, typeBounds);
    return (await client.query(`EXPLAIN ${sql}`, params)).rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
  }

  it('counts a summary of the last hour by type in events_by_type alone, group by group, never reading a row', async () => {
    const plan = await explainSummary('event_type');
    assert.match(plan, /Index Only Scan using events_by_type/, plan);
    assert.doesNotMatch(plan, /Seq Scan on events|Heap Scan|Index Scan using events_by_type/, plan);
  });

  it('counts a summary of the last hour by user in the users\' index, user by user, never a scan of the table', async () => {
    const plan = await explainSummary('user_id');
    assert.match(plan, /Index Only Scan using events_by_user_time/, plan);
    assert.doesNotMatch(plan, /Seq Scan on events/, plan);
  });
});
