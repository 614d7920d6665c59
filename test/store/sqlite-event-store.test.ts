import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from '../../src/store/sqlite/sqlite-driver.js';
import type { EventQuery, StoredEvent } from '../../src/events/event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { keysetStart } from '../../src/store/read-in-chunks.js';
import { buildEventQuerySql } from '../../src/store/sqlite/event-query-sql.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite/open-database.js';
import { openSqliteEventStore } from '../../src/store/sqlite/sqlite-event-store.js';

async function collect(chunks: AsyncIterable<readonly StoredEvent[]>): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const chunk of chunks) events.push(...chunk);
  return events;
}

const query = (userId: string, more: Partial<EventQuery> = {}): EventQuery => ({
  userId,
  eventTypes: [],
  dataFilters: [],
  order: 'asc',
  ...more,
});

describe('SQLite event store', () => {
  let dir: string;
  let path: string;
  let store: EventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-store-'));
    path = join(dir, 'nested', 'folder', 'events.db');
    store = openSqliteEventStore(path);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the folder, appends and returns events oldest first with data as written', async () => {
    const first = await store.append({ userId: 'u', eventType: 'login', dataJson: '{"n":1.50}' });
    const second = await store.append({ userId: 'u', eventType: 'logout', dataJson: '{}' });
    await store.append({ userId: 'other', eventType: 'login', dataJson: '{}' });
    assert.ok(first.id < second.id);
    assert.ok(first.timestampMs <= second.timestampMs);
    assert.deepEqual(await collect(store.query(query('u'))), [first, second]);
    assert.equal((await collect(store.query(query('u'))))[0]!.dataJson, '{"n":1.50}');
  });

  it('filters by any of several event types', async () => {
    for (const eventType of ['login', 'logout', 'view', 'login']) {
      await store.append({ userId: 'u', eventType, dataJson: '{}' });
    }
    const types = (await collect(store.query(query('u', { eventTypes: ['login', 'view'] })))).map((e) => e.eventType);
    assert.deepEqual(types, ['login', 'view', 'login']);
  });

  it('compares data fields as text: strings by value, numbers and booleans by their JSON spelling', async () => {
    const docs = [
      '{"v":100}', '{"v":"100"}', '{"v":100.0}', '{"v":true}', '{"v":"true"}', '{"v":null}',
      '{"v":[100]}', '{"v":{"x":100}}', '{}', '{"w":100}', '{"v":"caf\\u00e9"}', '{"v":"café"}',
    ];
    for (const dataJson of docs) await store.append({ userId: 'u', eventType: 't', dataJson });
    const matching = async (...values: string[]) =>
      (await collect(store.query(query('u', { dataFilters: [{ path: ['v'], values }] })))).map((e) => e.dataJson);

    assert.deepEqual(await matching('100'), ['{"v":100}', '{"v":"100"}']);
    assert.deepEqual(await matching('100.0'), ['{"v":100.0}']);
    assert.deepEqual(await matching('true'), ['{"v":true}', '{"v":"true"}']);
    assert.deepEqual(await matching('null'), []);
    assert.deepEqual(await matching('[100]'), []);
    assert.deepEqual(await matching('café'), ['{"v":"caf\\u00e9"}', '{"v":"café"}']);
    assert.deepEqual(await matching('100', 'true'), ['{"v":100}', '{"v":"100"}', '{"v":true}', '{"v":"true"}']);
  });

  it('follows nested paths and ANDs every filter', async () => {
    await store.append({ userId: 'u', eventType: 't', dataJson: '{"address":{"city":"Paris","zip":"75001"},"ok":false}' });
    await store.append({ userId: 'u', eventType: 't', dataJson: '{"address":{"city":"Paris","zip":"75002"},"ok":false}' });
    await store.append({ userId: 'u', eventType: 't', dataJson: '{"address":"Paris"}' });
    const found = await collect(
      store.query(query('u', {
        dataFilters: [
          { path: ['address', 'city'], values: ['Paris'] },
          { path: ['address', 'zip'], values: ['75002'] },
          { path: ['ok'], values: ['false'] },
        ],
      })),
    );
    assert.deepEqual(found.map((e) => e.dataJson), ['{"address":{"city":"Paris","zip":"75002"},"ok":false}']);
  });

  it('treats any field name as a literal key, never as SQL or path syntax', async () => {
    const names = ['a"b', "x'); DROP TABLE events; --", '$', 'a[0]', '*', 'a\\b', ' ', 'é😀', '"'];
    for (const name of names) {
      await store.append({ userId: 'u', eventType: 't', dataJson: JSON.stringify({ [name]: 'hit' }) });
    }
    for (const name of names) {
      const found = await collect(store.query(query('u', { dataFilters: [{ path: [name], values: ['hit'] }] })));
      assert.deepEqual(found.map((e) => e.dataJson), [JSON.stringify({ [name]: 'hit' })], name);
    }
    assert.equal((await collect(store.query(query('u')))).length, names.length);
  });

  it('fails only the event that cannot be stored, not its batch-mates', async () => {
    // Submitted in one turn, so one transaction; the middle one breaks the json_valid check.
    const results = await Promise.allSettled([
      store.append({ userId: 'u', eventType: 't', dataJson: '{"n":1}' }),
      store.append({ userId: 'u', eventType: 't', dataJson: '{not json' }),
      store.append({ userId: 'u', eventType: 't', dataJson: '{"n":3}' }),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /CHECK constraint failed/);
    assert.deepEqual((await collect(store.query(query('u')))).map((e) => e.dataJson), ['{"n":1}', '{"n":3}']);
  });

  it('stores 1000 concurrent appends exactly once, in id order', async () => {
    const stored = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => store.append({ userId: 'u', eventType: 't', dataJson: `{"i":${i}}` })),
    );
    const read = await collect(store.query(query('u')));
    assert.equal(read.length, 1000);
    assert.deepEqual(read.map((e) => e.id), stored.map((e) => e.id));
    assert.deepEqual(read.map((e) => e.id), read.map((e) => e.id).sort());
  });

  it('reads a large answer in chunks, in order, with nothing repeated or skipped', async () => {
    for (let i = 0; i < 1234; i++) await store.append({ userId: 'u', eventType: 't', dataJson: `{"i":${i}}` });
    const chunks: number[] = [];
    const seen: number[] = [];
    for await (const chunk of store.query(query('u'))) {
      chunks.push(chunk.length);
      for (const event of chunk) seen.push((JSON.parse(event.dataJson) as { i: number }).i);
    }
    assert.ok(chunks.length > 1, `read in ${chunks.length} chunks`);
    assert.deepEqual(seen, Array.from({ length: 1234 }, (_, i) => i));
  });

  it('keeps every event across close and reopen', async () => {
    const stored = await store.append({ userId: 'u', eventType: 't', dataJson: '{"kept":true}' });
    await store.close();
    store = openSqliteEventStore(path);
    assert.deepEqual(await collect(store.query(query('u'))), [stored]);
  });

  it('runs every shape of one user\'s query from the (user_id, ts) index, in either order, without sorting', () => {
    const db = new Database(path, { readonly: true });
    try {
      for (const shape of [
        query('u', { eventTypes: ['a', 'b'], dataFilters: [{ path: ['x'], values: ['1'] }] }),
        query('u', { order: 'desc', since: 1, until: 2, limit: 10 }),
        query('u', { order: 'desc', after: { timestampMs: 5, seq: 7 } }),
      ]) {
        const { sql, params } = buildEventQuerySql(shape, { kind: 'user' });
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ ...params, ...keysetStart(shape), limit: 10 });
        const details = plan.map((row) => (row as { detail: string }).detail).join('\n');
        assert.match(details, /SEARCH events USING INDEX events_by_user_time \(user_id=\? AND ts[<>]/, details);
        assert.doesNotMatch(details, /SCAN|TEMP B-TREE/);
      }
    } finally {
      db.close();
    }
  });

  it('bounds by time and walks from a position in either order', async () => {
    const stored = [];
    for (let i = 0; i < 20; i++) stored.push(await store.append({ userId: 'u', eventType: 't', dataJson: `{"i":${i}}` }));
    const ids = (events: StoredEvent[]) => events.map((e) => e.id);
    const pivot = stored[8]!;
    assert.deepEqual(ids(await collect(store.query(query('u', { order: 'desc' })))), ids(stored).reverse());
    assert.deepEqual(ids(await collect(store.query(query('u', { after: pivot })))), ids(stored.slice(9)));
    assert.deepEqual(ids(await collect(store.query(query('u', { order: 'desc', after: pivot })))), ids(stored.slice(0, 8)).reverse());
    assert.deepEqual(ids(await collect(store.query(query('u', { since: pivot.timestampMs })))), ids(stored.filter((e) => e.timestampMs >= pivot.timestampMs)));
    assert.deepEqual(ids(await collect(store.query(query('u', { until: pivot.timestampMs })))), ids(stored.filter((e) => e.timestampMs < pivot.timestampMs)));
    assert.deepEqual(ids(await collect(store.query(query('u', { limit: 3, order: 'desc' })))), ids(stored.slice(17)).reverse());
    assert.deepEqual(await store.get(pivot.id), pivot);
    assert.equal(await store.get('0190a000-0000-7000-8000-000000000000'), undefined);
  });

  it('opens the file in WAL mode with synchronous = FULL, so a commit is on disk', async () => {
    await store.append({ userId: 'u', eventType: 't', dataJson: '{}' });
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
    // synchronous is per connection: read it from the store's own connection settings.
    const { openDatabase } = await import('../../src/store/sqlite/open-database.js');
    const own = openDatabase(join(dir, 'pragmas.db'));
    try {
      assert.equal(own.pragma('synchronous', { simple: true }), 2); // 2 = FULL
      assert.equal(own.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      own.close();
    }
  });

  it('refuses any UPDATE or DELETE of an event, whoever asks', async () => {
    const stored = await store.append({ userId: 'u', eventType: 't', dataJson: '{"amount":10}' });
    const db = new Database(path);
    try {
      assert.throws(() => db.prepare(`UPDATE events SET data = '{"amount":0}' WHERE id = ?`).run(stored.id), /append-only: an UPDATE is refused/);
      assert.throws(() => db.prepare('DELETE FROM events WHERE id = ?').run(stored.id), /append-only: a DELETE is refused/);
      assert.throws(() => db.exec('DELETE FROM events'), /append-only/);
    } finally {
      db.close();
    }
    assert.deepEqual(await collect(store.query(query('u'))), [stored]);
  });

  it('upgrades a version 1 file in place, keeping its events', async () => {
    const oldPath = join(dir, 'version-1.db');
    const old = new Database(oldPath);
    old.pragma('journal_mode = WAL');
    old.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL,
      user_id TEXT NOT NULL, event_type TEXT NOT NULL, data TEXT NOT NULL CHECK (json_valid(data)));
      CREATE INDEX events_by_user_time ON events (user_id, ts);
      INSERT INTO events VALUES (1, '0190a000-0000-7000-8000-000000000001', 1000, 'u', 't', '{"old":true}');`);
    old.pragma('user_version = 1');
    old.close();

    const upgraded = openSqliteEventStore(oldPath);
    try {
      assert.deepEqual((await collect(upgraded.query(query('u')))).map((e) => e.dataJson), ['{"old":true}']);
      await upgraded.append({ userId: 'u', eventType: 't', dataJson: '{"new":true}' });
      assert.equal((await collect(upgraded.query(query('u')))).length, 2);
    } finally {
      await upgraded.close();
    }
    const check = new Database(oldPath);
    try {
      assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.throws(() => check.exec('DELETE FROM events'), /append-only/);
    } finally {
      check.close();
    }
  });

  it('refuses to open a database written by a newer schema', async () => {
    await store.close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => openSqliteEventStore(path), /schema version 99/);
    store = openSqliteEventStore(join(dir, 'fresh.db'));
  });
});
