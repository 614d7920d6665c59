import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EventQuery, Removal, StoredEvent } from '../events/event.js';
import type { EventChunk } from './event-store.js';

/**
 * An event as both backends select it (EVENT_COLUMNS): seq, id, ts, user_id, event_type, data, and
 * the record of its payload's removal, all three null while it has one.
 */
export type EventRow = [
  seq: number, id: string, ts: number, userId: string, eventType: string, data: string,
  removedBy: string | null, removal: string | null, removedMs: number | null,
];

/** The columns of an EventRow, in order, as both databases name them. */
export const EVENT_COLUMNS = 'seq, id, ts, user_id, event_type, data, removed_by, removal, removed_ms';

/** Most rows in one chunk: enough to amortise a statement, few enough to keep other requests moving. */
export const CHUNK_ROWS = 500;
/**
 * Most event text in one chunk, in characters (bytes on PostgreSQL, which counts UTF-8): the
 * row that reaches it is the chunk's last. So a chunk holds at most this plus one event, however
 * large the events are.
 */
export const CHUNK_SIZE = 1024 * 1024;

/**
 * One chunk as a backend read it, and whether it stopped at CHUNK_SIZE rather than at its row limit
 * or the end; or, when it stopped at the end of a window of seqs with more of the log to scan
 * (SQLite, see sqlite-query-plan.ts), the seq the next chunk reads after.
 */
export type Chunk = { rows: EventRow[]; stoppedAtSize: boolean; resumeAfterSeq?: number };

/**
 * Reads the next `limit` matching rows strictly after the keyset position (ts, seq), in the
 * query's order, stopping after the row whose text brings the chunk to `maxSize`.
 */
export type ReadChunk = (afterTs: number, afterSeq: number, limit: number, maxSize: number) => Chunk | Promise<Chunk>;

/** The size a chunk counts for a row: the text of its data, user_id and event_type. */
export function rowSize(row: EventRow): number {
  return row[5].length + row[3].length + row[4].length;
}

/** The keyset position just before the query's first row: its cursor's, or before every event in its order. */
export function keysetStart(query: EventQuery): { afterTs: number; afterSeq: number } {
  if (query.after !== undefined) return { afterTs: query.after.timestampMs, afterSeq: query.after.seq };
  return query.order === 'desc'
    ? { afterTs: Number.MAX_SAFE_INTEGER, afterSeq: Number.MAX_SAFE_INTEGER }
    : { afterTs: -1, afterSeq: -1 };
}

/**
 * How every chunk's SELECT ends, whichever the database: the rows strictly after the keyset
 * position (whose parameters are spelled `afterTs` and `afterSeq` in the backend's dialect), in the
 * query's order. A row-value comparison, so that an index on (…, ts, seq) serves the range and the
 * order in both directions, and each chunk costs its own rows however deep it starts.
 */
export function keysetSql(order: EventQuery['order'], afterTs: string, afterSeq: string): { after: string; orderBy: string } {
  const direction = order === 'desc' ? 'DESC' : 'ASC';
  return { after: `(ts, seq) ${order === 'desc' ? '<' : '>'} (${afterTs}, ${afterSeq})`, orderBy: `ts ${direction}, seq ${direction}` };
}

const LAST = { last: true } as const;

/**
 * Yields a query's answer a chunk at a time (CHUNK_ROWS rows or CHUNK_SIZE of text, whichever
 * comes first), each chunk read whole by keyset after the last row of the one before, up to the
 * query's limit; the chunk that ends the answer is marked `last`. No cursor stays open while the
 * caller awaits, so a slow reader never holds the database; and other requests run between chunks
 * of a large answer, and between the windows of a long scan, even those that found nothing.
 */
export async function* readInChunks(query: EventQuery, read: ReadChunk): AsyncIterable<EventChunk> {
  let { afterTs, afterSeq } = keysetStart(query);
  let remaining = query.limit ?? Number.POSITIVE_INFINITY;
  while (remaining > 0) {
    const limit = Math.min(CHUNK_ROWS, remaining);
    const { rows, stoppedAtSize, resumeAfterSeq } = await read(afterTs, afterSeq, limit, CHUNK_SIZE);
    const ends = resumeAfterSeq === undefined && rows.length < limit && !stoppedAtSize;
    if (rows.length > 0) {
      const lastRow = rows[rows.length - 1]!;
      afterTs = lastRow[2];
      afterSeq = lastRow[0];
      remaining -= rows.length;
      const events = rows.map(toStoredEvent);
      if (ends || remaining === 0) {
        yield Object.assign(events, LAST);
        return;
      }
      yield events;
    }
    if (resumeAfterSeq !== undefined) afterSeq = resumeAfterSeq;
    else if (ends) return;
    await nextTurn();
  }
}

export function toStoredEvent([seq, id, ts, userId, eventType, data, removedBy, removal, removedMs]: EventRow): StoredEvent {
  const event: StoredEvent = { id, timestampMs: ts, seq, userId, eventType, dataJson: data };
  if (removedBy !== null) event.removed = { reason: removal as Removal['reason'], atMs: Number(removedMs), by: removedBy };
  return event;
}
