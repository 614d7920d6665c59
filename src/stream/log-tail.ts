/**
 * The last few seconds of the log, read once for every stream and sink of this process that keeps
 * up with it: a stream or sink at the head would otherwise read (and encode) each event once for
 * itself, and handing each event on ten times cost ingest a quarter of its rate (bench/README.md,
 * "Live streams and webhook sinks"). The tail holds every event after its start, in log order,
 * with each one's JSON made once; readers filter it by user and type (the filters whose match is a
 * plain comparison). A reader whose place is older than the tail's start, or whose filters look
 * into `data`, reads the database as before.
 */
import { encodeEventJson } from '../encode/event-json.js';
import { encodeCursor } from '../events/cursor.js';
import type { EventQuery, Position, StoredEvent } from '../events/event.js';
import type { EventStore } from '../store/event-store.js';

/** An event of the tail, its JSON and its cursor made once for all readers. */
export type TailEvent = { event: StoredEvent; json: string; cursor: string };

/** How long an event stays in the tail, in ms: a reader further behind reads the database. */
const KEEP_MS = 5000;
/** Most events the tail holds, and most characters of their JSON. */
const MAX_EVENTS = 20_000;
const MAX_CHARS = 16 * 1024 * 1024;
/** Events read from the database per read while the tail catches up. */
const READ_EVENTS = 1000;

export type LogTail = {
  /**
   * The events after `after` that match `filters`, at most `limit`, once the tail has read what is
   * committed now; undefined when the tail cannot answer (the place is older than its start, or
   * the filters look into `data`), and the database must.
   */
  after(after: Position, filters: EventQuery, limit: number): Promise<TailEvent[] | undefined>;
};

export function createLogTail(store: EventStore, clock: () => number = Date.now): LogTail {
  let events: Array<TailEvent & { readMs: number }> = [];
  /** The place just before the tail's first event: it holds every event after it. */
  let start: Position | undefined;
  let end: Position | undefined;
  let chars = 0;
  let reading: Promise<void> | undefined;

  const sameOrAfter = (a: Position, b: Position): boolean => a.timestampMs > b.timestampMs || (a.timestampMs === b.timestampMs && a.seq >= b.seq);

  /** Reads what was committed after the tail's end; one read at a time, shared by whoever asks meanwhile. */
  const readOn = (): Promise<void> => (reading ??= (async () => {
    try {
      for (let more = true; more;) {
        let read = 0;
        for await (const chunk of store.query({ eventTypes: [], dataFilters: [], order: 'asc', after: end!, limit: READ_EVENTS })) {
          const now = clock();
          for (const event of chunk) {
            const json = encodeEventJson(event);
            events.push({ event, json, cursor: encodeCursor(event), readMs: now });
            chars += json.length;
            end = { timestampMs: event.timestampMs, seq: event.seq };
          }
          read += chunk.length;
        }
        more = read === READ_EVENTS;
      }
      forgetOld();
    } finally {
      reading = undefined;
    }
  })());

  /** Drops the events read too long ago, or past the bounds; the tail then starts after them. */
  const forgetOld = (): void => {
    const now = clock();
    let drop = 0;
    while (drop < events.length && (now - events[drop]!.readMs > KEEP_MS || events.length - drop > MAX_EVENTS || chars > MAX_CHARS)) {
      chars -= events[drop]!.json.length;
      drop++;
    }
    if (drop === 0) return;
    const last = events[drop - 1]!.event;
    start = { timestampMs: last.timestampMs, seq: last.seq };
    events = events.slice(drop);
  };

  return {
    async after(after, filters, limit) {
      if (filters.dataFilters.length > 0 || filters.since !== undefined || filters.until !== undefined) return undefined;
      forgetOld();
      // Empty (new, or idle longer than it keeps events), the tail starts at the place of whoever
      // asks from at or after its end, rather than read all that came between.
      if (reading === undefined && (end === undefined || (events.length === 0 && sameOrAfter(after, end)))) start = end = after;
      if (start === undefined || !sameOrAfter(after, start)) return undefined; // behind the tail: the database answers
      await readOn();
      if (start === undefined || !sameOrAfter(after, start)) return undefined;
      const found: TailEvent[] = [];
      // The first event after `after`: the tail is in log order.
      let low = 0;
      let high = events.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if (sameOrAfter(after, events[middle]!.event)) low = middle + 1;
        else high = middle;
      }
      for (let i = low; i < events.length && found.length < limit; i++) {
        const { event } = events[i]!;
        if (filters.userId !== undefined && event.userId !== filters.userId) continue;
        if (filters.eventTypes.length > 0 && !filters.eventTypes.includes(event.eventType)) continue;
        found.push(events[i]!);
      }
      return found;
    },
  };
}
