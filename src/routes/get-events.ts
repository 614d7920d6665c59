import { encodeCsv } from '../encode/csv.js';
import { encodeJsonArray } from '../encode/json-array.js';
import { encodeNdjson } from '../encode/ndjson.js';
import { encodeCursor } from '../events/cursor.js';
import type { EventQuery, StoredEvent } from '../events/event.js';
import { parseEventQuery } from '../events/parse-event-query.js';
import { ROOM_WAIT_MS, type MemoryBudget } from '../http/memory-budget.js';
import { negotiate } from '../http/negotiate.js';
import type { RouteHandler } from '../http/route.js';
import { JSON_CONTENT_TYPE } from '../http/send-reply.js';
import type { EventStore } from '../store/event-store.js';
import { CHUNK_SIZE } from '../store/read-in-chunks.js';
import { busyWithLargeAnswers, meterChunks, settle, sizeOfEvent } from './metered-chunks.js';
import { startReading } from './start-reading.js';

type Encoder = (chunks: AsyncIterable<readonly StoredEvent[]>) => AsyncIterable<string | Uint8Array>;

const FORMATS: Record<string, { contentType: string; encode: Encoder }> = {
  'application/json': { contentType: JSON_CONTENT_TYPE, encode: encodeJsonArray },
  'application/x-ndjson': { contentType: 'application/x-ndjson; charset=utf-8', encode: encodeNdjson },
  'text/csv': { contentType: 'text/csv; charset=utf-8; header=present', encode: encodeCsv },
};
const FORMAT_NAMES = Object.keys(FORMATS);

/**
 * Most event text one page holds (with `limit`), in characters: a page of large events ends
 * early, with a `Link` to the rest, rather than hold up to 10,000 of them in memory at once.
 */
export const PAGE_SIZE = 4 * CHUNK_SIZE;

/**
 * GET /events: the matching events in the format the Accept header asks for. Without `limit` the
 * whole answer is streamed as it is read, a chunk at a time; with one, the page is read first (one
 * event more than asked, to learn whether another page follows) and a `Link: rel="next"` names
 * the next page. Every chunk and page is held against `budget`, the memory all answers share.
 */
export function createGetEventsRoute(store: EventStore, budget: MemoryBudget): RouteHandler {
  return async (request, { params, caller }) => {
    const query = parseEventQuery(params);
    // Memory is shared out by key: one key's slow readers cannot hold what everyone needs.
    const holder = caller?.keyName ?? '';
    const format = FORMATS[negotiate(request.headers.accept, FORMAT_NAMES)]!;
    const headers: Record<string, string> = { Vary: 'Accept' };

    if (query.limit === undefined) {
      const chunks = await startReading(meterChunks(store.query(query), budget, holder));
      return { status: 200, contentType: format.contentType, headers, chunks: format.encode(chunks) };
    }
    const { events, held, more } = await readPage(store, query as EventQuery & { limit: number }, budget, holder);
    if (more) {
      const next = new URLSearchParams(params);
      next.set('after', encodeCursor(events[events.length - 1]!));
      headers.Link = `</events?${next.toString()}>; rel="next"`;
    }
    return { status: 200, contentType: format.contentType, headers, chunks: format.encode(holding(events, budget, holder, held)) };
  };
}

/**
 * One page: up to `limit` events and PAGE_SIZE of text (the event that reaches it is the page's
 * last), and whether more follow, learnt by reading one event past the page (which may take one
 * more chunk). The page's size stays reserved in `budget` (`held`) until it has been sent.
 */
async function readPage(
  store: EventStore,
  query: EventQuery & { limit: number },
  budget: MemoryBudget,
  holder: string,
): Promise<{ events: StoredEvent[]; held: number; more: boolean }> {
  if (!(await budget.reserve(PAGE_SIZE + CHUNK_SIZE, holder, ROOM_WAIT_MS))) throw busyWithLargeAnswers();
  let held = PAGE_SIZE + CHUNK_SIZE;
  const events: StoredEvent[] = [];
  let size = 0;
  let more = false;
  try {
    read: for await (const chunk of store.query({ ...query, limit: query.limit + 1 })) {
      for (const event of chunk) {
        if (events.length === query.limit || size >= PAGE_SIZE) {
          more = true;
          break read;
        }
        events.push(event);
        size += sizeOfEvent(event);
      }
    }
  } catch (error) {
    budget.release(held, holder);
    throw error;
  }
  held = settle(budget, holder, held, size);
  return { events, held, more };
}

/** Yields `events` once, giving their reservation back when the answer is over (sent, or cut off). */
async function* holding(events: readonly StoredEvent[], budget: MemoryBudget, holder: string, held: number): AsyncIterable<readonly StoredEvent[]> {
  try {
    yield events;
  } finally {
    budget.release(held, holder);
  }
}
