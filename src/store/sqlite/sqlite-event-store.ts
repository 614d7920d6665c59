import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { EventQuery, NewEvent, StoredEvent } from '../../events/event.js';
import { createUuidV7Generator } from '../../events/uuid-v7.js';
import type { EventStore } from '../event-store.js';
import { createGroupCommit, type BatchOutcome } from '../group-commit.js';
import { buildEventQuerySql } from './event-query-sql.js';
import { openDatabase } from './open-database.js';

/** Rows read per chunk: enough to amortise a statement step, small enough to keep memory flat. */
const QUERY_CHUNK_ROWS = 500;
/** Distinct query shapes whose prepared statements are kept. */
const STATEMENT_CACHE_SIZE = 64;
/** Most events in one transaction: bounds how long one commit holds the event loop. */
const MAX_BATCH = 1000;

type EventRow = [seq: number, id: string, ts: number, userId: string, eventType: string, data: string];

/** An EventStore on one SQLite file (see openDatabase for its durability settings). */
export function openSqliteEventStore(path: string): EventStore {
  const db = openDatabase(path);
  const insert = db.prepare(
    'INSERT INTO events (id, ts, user_id, event_type, data) VALUES (?, ?, ?, ?, ?)',
  );
  const nextId = createUuidV7Generator();

  // Ids and timestamps are assigned inside the transaction, so their order is commit order.
  const insertBatch = db.transaction((events: readonly NewEvent[]): Array<BatchOutcome<StoredEvent>> =>
    events.map((event) => {
      const { id, timestampMs } = nextId();
      try {
        insert.run(id, timestampMs, event.userId, event.eventType, event.dataJson);
        return { ok: true, value: { id, timestampMs, ...event } };
      } catch (error) {
        // A failed statement rolls back alone and the batch goes on, unless SQLite had to abandon
        // the whole transaction (I/O error, disk full): then every event of the batch must fail.
        if (!db.inTransaction) throw error;
        return { ok: false, error: error as Error };
      }
    }),
  );
  const writer = createGroupCommit(insertBatch, { maxBatch: MAX_BATCH });

  const statements = new Map<string, Database.Statement>();

  const prepareQuery = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
      statement = db.prepare(sql).raw(true);
      statements.set(sql, statement);
    }
    return statement;
  };

  return {
    append: (event) => writer.submit(event),

    async *query(query: EventQuery): AsyncIterable<readonly StoredEvent[]> {
      const { sql, params } = buildEventQuerySql(query);
      const statement = prepareQuery(sql);
      let afterTs = -1;
      let afterSeq = -1;
      for (;;) {
        // Each chunk is read whole and released: no cursor stays open while the caller awaits,
        // so a slow reader never holds the database.
        const rows = statement.all({ ...params, afterTs, afterSeq, limit: QUERY_CHUNK_ROWS }) as EventRow[];
        if (rows.length === 0) return;
        const last = rows[rows.length - 1]!;
        afterTs = last[2];
        afterSeq = last[0];
        yield rows.map(toStoredEvent);
        if (rows.length < QUERY_CHUNK_ROWS) return;
        await nextTurn(); // let ingest and other requests run between chunks of a large answer
      }
    },

    async close(): Promise<void> {
      await writer.drain();
      if (db.open) db.close();
    },
  };
}

function toStoredEvent([, id, ts, userId, eventType, data]: EventRow): StoredEvent {
  return { id, timestampMs: ts, userId, eventType, dataJson: data };
}
