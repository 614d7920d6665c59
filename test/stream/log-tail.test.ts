import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StoredEvent } from '../../src/events/event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { createLogTail } from '../../src/stream/log-tail.js';
import { createTestDatabase, TEST_BACKEND, type TestDatabase } from '../helpers/test-database.js';

describe(`the log's tail (${TEST_BACKEND})`, () => {
  let database: TestDatabase;
  let store: EventStore;
  let now = 1_000_000;
  const append = (userId: string, eventType: string, n: number): Promise<StoredEvent> => store.append({ userId, eventType, dataJson: `{"n":${n}}` });
  const place = (event: StoredEvent) => ({ timestampMs: event.timestampMs, seq: event.seq });
  const all = { eventTypes: [], dataFilters: [], order: 'asc' as const };

  before(async () => {
    database = await createTestDatabase();
    store = await database.openStore();
  });
  after(async () => {
    await store.close();
    await database.drop();
  });

  it('serves every event after a place it holds, filtered by user and type, and leaves the rest to the database', async () => {
    const tail = createLogTail(store, () => now);
    const first = await append('a', 'login', 0);
    assert.deepEqual(await tail.after(place(first), all, 100), [], 'it starts at the first place asked for');
    const added = [await append('a', 'login', 1), await append('b', 'note', 2), await append('a', 'note', 3)];
    const seen = await tail.after(place(first), all, 100);
    assert.deepEqual(seen!.map((one) => one.event.id), added.map((event) => event.id));
    assert.deepEqual(JSON.parse(seen![0]!.json), JSON.parse(JSON.stringify({ id: added[0]!.id, timestamp: new Date(added[0]!.timestampMs).toISOString(), user_id: 'a', event_type: 'login', data: { n: 1 } })));
    assert.deepEqual((await tail.after(place(first), { ...all, userId: 'a', eventTypes: ['note'] }, 100))!.map((one) => one.event.id), [added[2]!.id]);
    assert.deepEqual((await tail.after(place(added[0]!), all, 1))!.map((one) => one.event.id), [added[1]!.id], 'after a place inside it, up to the limit');
    assert.equal(await tail.after({ timestampMs: 0, seq: 0 }, all, 100), undefined, 'a place before its start: the database answers');
    assert.equal(await tail.after(place(first), { ...all, dataFilters: [{ path: ['n'], values: ['1'] }] }, 100), undefined, 'a filter into data: the database answers');
  });

  it('forgets what it read seconds ago, and then starts again where it is next asked', async () => {
    const tail = createLogTail(store, () => now);
    const first = await append('c', 't', 0);
    await tail.after(place(first), all, 100);
    const second = await append('c', 't', 1);
    assert.equal((await tail.after(place(first), all, 100))!.length, 1);
    now += 6000;
    const third = await append('c', 't', 2);
    assert.equal(await tail.after(place(first), all, 100), undefined, 'what it held is forgotten: the database answers');
    assert.deepEqual((await tail.after(place(second), all, 100))!.map((one) => one.event.id), [third.id], 'from its end, it goes on');
  });
});
