import { CSV } from '../encode/csv.js';
import { encodeInPieces, encodeWhole, type EventLayout } from '../encode/encode-in-pieces.js';
import { JSON_ARRAY } from '../encode/json-array.js';
import { NDJSON } from '../encode/ndjson.js';
import { PIECE_CHARS } from '../encode/text-pieces.js';
import { encodeCursor } from '../events/cursor.js';
import type { EventQuery, StoredEvent } from '../events/event.js';
import { parseEventQuery } from '../events/parse-event-query.js';
import { ROOM_WAIT_MS, type MemoryBudget } from '../http/memory-budget.js';
import { negotiate } from '../http/negotiate.js';
import type { RouteHandler } from '../http/route.js';
import { JSON_CONTENT_TYPE } from '../http/send-reply.js';
import type { EventStore } from '../store/event-store.js';
import { CHUNK_SIZE } from '../store/read-in-chunks.js';
import { busyWithLargeAnswers, settle, sizeOfEvent, sizeOfEvents, startReading } from './metered-chunks.js';

const FORMATS: Record<string, { contentType: string; layout: EventLayout }> = {
  'application/json': { contentType: JSON_CONTENT_TYPE, layout: JSON_ARRAY },
  // Newline-delimited JSON goes by three names; each is answered under the name it was asked by.
  'application/x-ndjson': { contentType: 'application/x-ndjson; charset=utf-8', layout: NDJSON },
  'application/ndjson': { contentType: 'application/ndjson; charset=utf-8', layout: NDJSON },
  'application/jsonl': { contentType: 'application/jsonl; charset=utf-8', layout: NDJSON },
  'text/csv': { contentType: 'text/csv; charset=utf-8; header=present', layout: CSV },
};
const FORMAT_NAMES = Object.keys(FORMATS);

/**
 * Most event text one page holds (with `limit`), in characters: a page of large events ends
 * early, with a `Link` to the rest, rather than hold up to 10,000 of them in memory at once.
 */
export const PAGE_SIZE = 4 * CHUNK_SIZE;

/**
 * Most event text an answer sent whole holds, in characters: about one of the pieces a streamed
 * answer is sent in, so that sending it whole holds no more than streaming it would.
 */
export const WHOLE_ANSWER_SIZE = PIECE_CHARS;

/**
 * GET /events: the matching events in the format the Accept header asks for. Without `limit` the
 * whole answer is streamed as it is read, a chunk at a time; with one, the page is read first (one
 * event more than asked, to learn whether another page follows) and a `Link: rel="next"` names
 * the next page. Every chunk and page is held against `budget`, the memory all answers share. An
 * answer read in one chunk (or a page) of at most WHOLE_ANSWER_SIZE is sent whole, with its length:
 * most answers are small, and the stream's machinery cost a typical one about a third of its time.
 */
export function createGetEventsRoute(store: EventStore, budget: MemoryBudget): RouteHandler {
  return async (request, { params, caller }) => {
    const query = parseEventQuery(params);
    // Memory is shared out by key: one key's slow readers cannot hold what everyone needs.
    const holder = caller?.keyName ?? '';
    const format = FORMATS[negotiate(request.headers.accept, FORMAT_NAMES)]!;
    const headers: Record<string, string> = { Vary: 'Accept' };

    if (query.limit === undefined) {
      const reading = await startReading(store.query(query), budget, holder);
      const { first } = reading;
      if (first === undefined || (first.last === true && sizeOfEvents(first) <= WHOLE_ANSWER_SIZE)) {
        try {
          return { status: 200, contentType: format.contentType, headers, text: encodeWhole(first ?? [], format.layout) };
        } finally {
          await reading.stop(); // gives its memory back
        }
      }
      return { status: 200, contentType: format.contentType, headers, chunks: encodeInPieces(reading.chunks, format.layout) };
    }
    const { events, held, more } = await readPage(store, query as EventQuery & { limit: number }, budget, holder);
    if (more) {
      const next = new URLSearchParams(params);
      next.set('after', encodeCursor(events[events.length - 1]!));
      headers.Link = `</events?${next.toString()}>; rel="next"`;
    }
    if (held <= WHOLE_ANSWER_SIZE) {
      try {
        return { status: 200, contentType: format.contentType, headers, text: encodeWhole(events, format.layout) };
      } finally {
        budget.release(held, holder);
      }
    }
    return { status: 200, contentType: format.contentType, headers, chunks: encodeInPieces(holding(events, budget, holder, held), format.layout) };
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
  if (!budget.tryReserve(PAGE_SIZE + CHUNK_SIZE, holder) && !(await budget.reserve(PAGE_SIZE + CHUNK_SIZE, holder, ROOM_WAIT_MS))) throw busyWithLargeAnswers();
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
