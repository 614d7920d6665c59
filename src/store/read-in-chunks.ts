import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EventQuery, StoredEvent } from '../events/event.js';

/** An event as both stores select it: seq, id, ts, user_id, event_type, data. */
export type EventRow = [seq: number, id: string, ts: number, userId: string, eventType: string, data: string];

/** Reads the next `limit` matching rows strictly after the keyset position (ts, seq), in the query's order. */
export type ReadChunk = (afterTs: number, afterSeq: number, limit: number) => EventRow[] | Promise<EventRow[]>;

/** The keyset position just before the query's first row: its cursor's, or before every event in its order. */
export function keysetStart(query: EventQuery): { afterTs: number; afterSeq: number } {
  if (query.after !== undefined) return { afterTs: query.after.timestampMs, afterSeq: query.after.seq };
  return query.order === 'desc'
    ? { afterTs: Number.MAX_SAFE_INTEGER, afterSeq: Number.MAX_SAFE_INTEGER }
    : { afterTs: -1, afterSeq: -1 };
}

/**
 * Yields a query's answer `chunkRows` at a time, each chunk read whole by keyset after the last row
 * of the one before, up to the query's limit. No cursor stays open while the caller awaits, so a
 * slow reader never holds the database; and other requests run between chunks of a large answer.
 */
export async function* readInChunks(query: EventQuery, chunkRows: number, read: ReadChunk): AsyncIterable<readonly StoredEvent[]> {
  let { afterTs, afterSeq } = keysetStart(query);
  let remaining = query.limit ?? Number.POSITIVE_INFINITY;
  while (remaining > 0) {
    const limit = Math.min(chunkRows, remaining);
    const rows = await read(afterTs, afterSeq, limit);
    if (rows.length === 0) return;
    const last = rows[rows.length - 1]!;
    afterTs = last[2];
    afterSeq = last[0];
    remaining -= rows.length;
    yield rows.map(toStoredEvent);
    if (rows.length < limit) return;
    await nextTurn();
  }
}

export function toStoredEvent([seq, id, ts, userId, eventType, data]: EventRow): StoredEvent {
  return { id, timestampMs: ts, seq, userId, eventType, dataJson: data };
}
