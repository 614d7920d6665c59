/**
 * How SQLite reads each query shape: the declared fields' indexes made and dropped at start-up,
 * the path the planner takes (probing the indexes that could narrow the query), and SQLite's own
 * plan of the statement, which never scans the whole table when an index could narrow it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from '../../src/store/sqlite/sqlite-driver.js';
import type { EventQuery, NewEvent } from '../../src/events/event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { fieldIndexName, parseIndexedFields } from '../../src/store/indexed-fields.js';
import { keysetStart } from '../../src/store/read-in-chunks.js';
import { buildEventQuerySql, buildSummarySql, TYPE_INDEX } from '../../src/store/sqlite/event-query-sql.js';
import { GROUP_COUNT_SQL } from '../../src/store/sqlite/sqlite-group-counts.js';
import { createPlanReads, planSqliteQuery, PROBE_CAP, UNBOUNDED } from '../../src/store/sqlite/sqlite-query-plan.js';
import { openSqliteEventStore } from '../../src/store/sqlite/sqlite-event-store.js';
import { captureLog } from '../helpers/capture-log.js';

const START = Date.parse('2032-01-01T00:00:00Z');
const EVENTS = 3000;
const FLAG = fieldIndexName(['flag']);
const QUOTED = fieldIndexName(["it's"]);

const query = (more: Partial<EventQuery> = {}): EventQuery => ({ eventTypes: [], dataFilters: [], order: 'asc', ...more });

describe('SQLite query plans', () => {
  let dir: string;
  let path: string;
  let store: EventStore;
  let now = START;
  const log = captureLog();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-plans-'));
    path = join(dir, 'events.db');
    store = openSqliteEventStore(path, { clock: () => now, log: log.logger, indexedFields: parseIndexedFields("flag,it's").fields });
    // Half the events are one hot user's; one in 500 of those is flagged rare. A second per event.
    const events: NewEvent[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const hot = i % 2 === 0;
      events.push({ userId: hot ? 'hot' : `u${i % 97}`, eventType: 'abcde'[i % 5]!, dataJson: JSON.stringify({ flag: hot && i % 1000 === 0 ? 'rare' : 'common', "it's": i % 7, free: i }) });
    }
    for (let i = 0; i < EVENTS; i += 100) {
      now = START + i * 1000;
      await store.appendAll(events.slice(i, i + 100));
    }
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The planner's path for `shape`, and SQLite's plan of the statement it builds. */
  function plan(shape: EventQuery): { path: string; windowed: boolean; details: string } {
    const db = new Database(path, { readonly: true });
    try {
      const chosen = planSqliteQuery(shape, parseIndexedFields("flag,it's").fields, createPlanReads(db));
      const { sql, params } = buildEventQuerySql(shape, chosen.path);
      const details = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ ...params, ...keysetStart(shape), fromSeq: chosen.fromSeq, toSeq: chosen.toSeq, limit: 100 })
        .map((row) => (row as { detail: string }).detail).join('\n');
      return { path: chosen.path.kind === 'index' ? chosen.path.index : chosen.path.kind, windowed: chosen.windowed, details };
    } finally {
      db.close();
    }
  }

  it('creates an index for each declared field at start-up, saying how long it took, and drops one no longer declared', async () => {
    const indexes = () => new Database(path, { readonly: true }).prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'events_by_field_%' ORDER BY name").all();
    assert.deepEqual(indexes(), [
      { name: QUOTED, sql: `CREATE INDEX ${QUOTED} ON events (json_extract(data, '$."it''s"'))` },
      { name: FLAG, sql: `CREATE INDEX ${FLAG} ON events (json_extract(data, '$."flag"'))` },
    ].sort((a, b) => a.name.localeCompare(b.name)));
    const created = log.lines.filter((line) => line.msg === 'indexed a field AUDITOR_INDEXED_FIELDS declares');
    assert.deepEqual(created.map((line) => [line.field, line.index, typeof line.seconds]), [['flag', FLAG, 'number'], ["it's", QUOTED, 'number']]);

    const reopened = captureLog();
    await store.close();
    store = openSqliteEventStore(path, { clock: () => now, log: reopened.logger, indexedFields: parseIndexedFields('flag').fields });
    assert.deepEqual(indexes().map((index) => (index as { name: string }).name), [FLAG]);
    const dropped = reopened.lines.filter((line) => line.msg === 'dropped the index of a field AUDITOR_INDEXED_FIELDS no longer declares');
    assert.deepEqual(dropped.map((line) => [line.index, line.definition, typeof line.seconds]), [[QUOTED, `CREATE INDEX ${QUOTED} ON events (json_extract(data, '$."it''s"'))`, 'number']]);

    await store.close();
    const again = captureLog();
    store = openSqliteEventStore(path, { clock: () => now, log: again.logger, indexedFields: parseIndexedFields("flag,it's").fields });
    assert.equal(indexes().length, 2);
    assert.equal(again.lines.filter((line) => line.msg === 'indexed a field AUDITOR_INDEXED_FIELDS declares').length, 1);
  });

  it('reads a hot user\'s sparse filter on a declared field through the field\'s index, not the user\'s 1,500 events', () => {
    const { path: chosen, details } = plan(query({ userId: 'hot', dataFilters: [{ path: ['flag'], values: ['rare'] }] }));
    assert.equal(chosen, FLAG);
    assert.match(details, new RegExp(`^SEARCH events USING INDEX ${FLAG} \\(<expr>=\\? AND rowid>\\? AND rowid<\\?\\)$`), details);
  });

  it('reads a declared field across users through its index, in seq order, without sorting', () => {
    const { path: chosen, details } = plan(query({ dataFilters: [{ path: ['flag'], values: ['rare'] }], order: 'desc' }));
    assert.equal(chosen, FLAG);
    assert.match(details, new RegExp(`^SEARCH events USING INDEX ${FLAG} \\(<expr>=\\? AND rowid>\\? AND rowid<\\?\\)$`), details);
  });

  it('reads an event type and a time range across users through events_by_type or the log\'s own order, whichever holds fewer', () => {
    const typeOnly = plan(query({ eventTypes: ['a'] }));
    assert.equal(typeOnly.path, TYPE_INDEX);
    assert.match(typeOnly.details, /^SEARCH events USING INDEX events_by_type \(event_type=\? AND rowid>\? AND rowid<\?\)$/, typeOnly.details);

    // The last 50 seconds hold 50 events: fewer than the type's entries, so the log is read between their seqs.
    const recent = plan(query({ eventTypes: ['a'], since: now + 50_000 }));
    assert.equal(recent.path, 'log');
    assert.match(recent.details, /^SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)$/, recent.details);

    const timeOnly = plan(query({ since: START + 1_000_000, until: START + 1_200_000 }));
    assert.equal(timeOnly.path, 'log');
    assert.match(timeOnly.details, /^SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)$/, timeOnly.details);
  });

  it('reads one user\'s plain query through the user\'s index, unprobed, as it always has', () => {
    const { path: chosen, details } = plan(query({ userId: 'u5', order: 'desc' }));
    assert.equal(chosen, 'user');
    assert.match(details, /^SEARCH events USING INDEX events_by_user_time \(user_id=\? AND ts<\?\)$/, details);
  });

  it(`takes a dense path already in order, a window of seqs at a time, when every index holds more than ${PROBE_CAP}`, () => {
    const everything = plan(query({ dataFilters: [{ path: ['free'], values: ['1'] }] }));
    assert.deepEqual([everything.path, everything.windowed], ['log', true]);
    assert.match(everything.details, /^SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)$/, everything.details);

    const common = plan(query({ dataFilters: [{ path: ['flag'], values: ['common'] }] }));
    assert.deepEqual([common.path, common.windowed], [FLAG, true]);
  });

  it('bounds a time range by seq: from the first event at or after since, to the first at or after until; an instant no event has reached bounds nothing', () => {
    const db = new Database(path, { readonly: true });
    try {
      const reads = createPlanReads(db);
      const chosen = planSqliteQuery(query({ since: START + 100_000, until: START + 200_000 }), [], reads);
      // 100 events a second apart from START: the 101st event (seq 101) is the first at START + 100 s.
      assert.deepEqual([chosen.fromSeq, chosen.toSeq], [101, 201]);
      assert.equal(planSqliteQuery(query({ until: now + 60_000 }), [], reads).toSeq, UNBOUNDED);
      assert.equal(reads.seqBound(START - 1, 'since'), 1);
      assert.equal(reads.seqBound(now + 1, 'until'), EVENTS + 1);
    } finally {
      db.close();
    }
  });

  it('counts a summary by type or user with only a time range in the index alone: a seek per group, a range count each', () => {
    const db = new Database(path, { readonly: true });
    try {
      const details = (sql: string, ...params: unknown[]) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params).map((row) => (row as { detail: string }).detail).join('\n');
      assert.equal(details(GROUP_COUNT_SQL.event_type.next, 'a'), 'SEARCH events USING COVERING INDEX events_by_type (event_type>?)');
      assert.equal(details(GROUP_COUNT_SQL.event_type.count, 'a', 1, 2), 'SEARCH events USING COVERING INDEX events_by_type (event_type=? AND rowid>? AND rowid<?)');
      assert.equal(details(GROUP_COUNT_SQL.user_id.next, 'a'), 'SEARCH events USING COVERING INDEX events_by_user_time (user_id>?)');
      assert.equal(details(GROUP_COUNT_SQL.user_id.count, 'a', 1, 2), 'SEARCH events USING COVERING INDEX events_by_user_time (user_id=? AND ts>? AND ts<?)');
    } finally {
      db.close();
    }
  });

  it('counts a summary along the same paths', () => {
    const db = new Database(path, { readonly: true });
    try {
      const shape = query({ dataFilters: [{ path: ['flag'], values: ['rare'] }] });
      const chosen = planSqliteQuery(shape, parseIndexedFields('flag').fields, createPlanReads(db));
      const { sql, params } = buildSummarySql(shape, 'event_type', chosen.path);
      const details = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ ...params, fromSeq: chosen.fromSeq, toSeq: chosen.toSeq }).map((row) => (row as { detail: string }).detail).join('\n');
      assert.match(details, new RegExp(`^SEARCH events USING INDEX ${FLAG} \\(<expr>=\\? AND rowid>\\? AND rowid<\\?\\)\nUSE TEMP B-TREE FOR GROUP BY$`), details);
    } finally {
      db.close();
    }
  });
});
