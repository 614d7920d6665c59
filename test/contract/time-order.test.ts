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

// The schema taken back to before the type index and time_order, by undoing each step since (the
// sinks, links over leaves, the removals' columns, indexes and triggers, then the time order's):
// the log as that version left it.
const UNDO_SQLITE = `
  DROP TABLE sinks; DROP TABLE chain_over_leaves;
  DROP INDEX events_with_payload; DROP INDEX idempotency_by_event;
  DROP TRIGGER events_are_never_updated; DROP TRIGGER merkle_leaves_are_never_updated;
  ALTER TABLE events DROP COLUMN removed_by; ALTER TABLE events DROP COLUMN removal; ALTER TABLE events DROP COLUMN removed_ms;
  ALTER TABLE merkle_leaves DROP COLUMN data_sha256;
  CREATE TRIGGER events_are_never_updated BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only: an UPDATE is refused'); END;
  CREATE TRIGGER merkle_leaves_are_never_updated BEFORE UPDATE ON merkle_leaves BEGIN SELECT RAISE(ABORT, 'merkle_leaves are append-only: an UPDATE is refused'); END;
  DROP TABLE time_order; DROP INDEX events_by_type; PRAGMA user_version = 7`;
const UNDO_POSTGRES = `
  DROP TABLE sinks; DROP TABLE chain_over_leaves; DROP FUNCTION auditor_keep_chain_over_leaves();
  DROP INDEX events_with_payload; DROP INDEX idempotency_by_event;
  DROP TRIGGER events_change_only_by_removal ON events; DROP TRIGGER events_are_never_deleted ON events;
  DROP TRIGGER merkle_leaves_change_only_by_removal ON merkle_leaves; DROP TRIGGER merkle_leaves_are_never_deleted ON merkle_leaves;
  DROP FUNCTION auditor_allow_payload_removal(); DROP FUNCTION auditor_allow_salt_removal();
  ALTER TABLE events DROP COLUMN removed_by, DROP COLUMN removal, DROP COLUMN removed_ms;
  ALTER TABLE merkle_leaves DROP COLUMN data_sha256;
  CREATE TRIGGER events_are_never_changed BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION auditor_refuse_change();
  CREATE TRIGGER merkle_leaves_are_never_changed BEFORE UPDATE OR DELETE ON merkle_leaves FOR EACH ROW EXECUTE FUNCTION auditor_refuse_change();
  DROP TABLE time_order; DROP INDEX events_by_type; UPDATE auditor_schema_version SET version = version - 4`;

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
    await database.execute(TEST_BACKEND === 'postgres' ? UNDO_POSTGRES : UNDO_SQLITE);
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
