/**
 * A log written by an early version through a clock stepped back holds events out of time order:
 * queries across users by time, which read it as a seq range (seq-of-time.ts), still find every
 * one of them, on both backends, once the migration has found where the log is in order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventQuery } from '../../src/events/event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { createTestDatabase, TEST_BACKEND, TEST_CHAIN_SECRET, type TestDatabase } from '../helpers/test-database.js';

/** Seq 3 was stamped behind seq 2: from seq 3 on, the log is in order; before it, the latest time is 5000. */
const OLD_TIMES = [1000, 5000, 2000, 3000, 6000, 7000];
const LATER = 8000;

describe(`queries across users by time on a log partly out of time order (${TEST_BACKEND})`, () => {
  let database: TestDatabase;
  let store: EventStore;
  let clock = LATER;

  before(async () => {
    database = await createTestDatabase();
    // The schema of this version first, then the old events written in as an early version did,
    // then the schema taken back one step, so that the migration finds them as it would.
    store = await database.openStore({ chainSecret: TEST_CHAIN_SECRET });
    await store.close();
    const rows = OLD_TIMES.map((ts, i) => `(${i + 1}, '00000000-0000-7000-8000-00000000000${i + 1}', ${ts}, 'user-${i % 2}', 'old', '{"n":${i + 1}}')`).join(', ');
    await database.execute(`INSERT INTO events (seq, id, ts, user_id, event_type, data) VALUES ${rows}`);
    await database.execute(TEST_BACKEND === 'postgres'
      ? 'DROP TABLE time_order; DROP INDEX events_by_type; UPDATE auditor_schema_version SET version = version - 1'
      : 'DROP TABLE time_order; DROP INDEX events_by_type; PRAGMA user_version = 7');
    store = await database.openStore({ chainSecret: TEST_CHAIN_SECRET, clock: () => clock });
    for (const n of [7, 8]) {
      clock += 1000;
      await store.append({ userId: 'user-new', eventType: 'new', dataJson: `{"n":${n}}` });
    }
  });
  after(async () => {
    await store.close();
    await database.drop();
  });

  async function numbers(more: Partial<EventQuery>): Promise<number[]> {
    const found: number[] = [];
    for await (const chunk of store.query({ eventTypes: [], dataFilters: [], order: 'asc', ...more })) {
      found.push(...chunk.map((event) => (JSON.parse(event.dataJson) as { n: number }).n));
    }
    return found;
  }

  it('finds an event before the step that is later than since', async () => {
    assert.deepEqual(await numbers({ since: 4000 }), [2, 5, 6, 7, 8]);
    assert.deepEqual(await numbers({ since: 4000, eventTypes: ['old'] }), [2, 5, 6]);
  });

  it('reads only the ordered rest when since is later than every event before the step', async () => {
    assert.deepEqual(await numbers({ since: 5500 }), [5, 6, 7, 8]);
  });

  it('finds the events before the step, in any order, that are earlier than until', async () => {
    assert.deepEqual(await numbers({ until: 2500 }), [1, 3]);
    assert.deepEqual(await numbers({ since: 1500, until: 5500, order: 'desc' }), [4, 3, 2]);
  });

  it('counts them as the queries find them', async () => {
    assert.deepEqual(await store.summarize({ eventTypes: [], dataFilters: [], order: 'asc', since: 4000 }, 'event_type'), {
      groups: [{ key: 'old', count: 3 }, { key: 'new', count: 2 }], total: 5, truncated: false,
    });
  });
});
