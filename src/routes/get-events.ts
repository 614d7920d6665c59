import { encodeCsv } from '../encode/csv.js';
import { encodeJsonArray } from '../encode/json-array.js';
import { encodeNdjson } from '../encode/ndjson.js';
import { encodeCursor } from '../events/cursor.js';
import type { StoredEvent } from '../events/event.js';
import { parseEventQuery } from '../events/parse-event-query.js';
import { negotiate } from '../http/negotiate.js';
import type { RouteHandler } from '../http/route.js';
import { JSON_CONTENT_TYPE } from '../http/send-reply.js';
import type { EventStore } from '../store/event-store.js';
import { readFailed, startReading } from './read-failure.js';

type Encoder = (chunks: AsyncIterable<readonly StoredEvent[]>) => AsyncIterable<string>;

const FORMATS: Record<string, { contentType: string; encode: Encoder }> = {
  'application/json': { contentType: JSON_CONTENT_TYPE, encode: encodeJsonArray },
  'application/x-ndjson': { contentType: 'application/x-ndjson; charset=utf-8', encode: encodeNdjson },
  'text/csv': { contentType: 'text/csv; charset=utf-8; header=present', encode: encodeCsv },
};
const FORMAT_NAMES = Object.keys(FORMATS);

/**
 * GET /events: the matching events in the format the Accept header asks for. Without `limit` the
 * whole answer is streamed as it is read; with one, the page is read first (one event more than
 * asked, to learn whether another page follows) and a `Link: rel="next"` names the next page.
 */
export function createGetEventsRoute(store: EventStore): RouteHandler {
  return async (request, { params }) => {
    const query = parseEventQuery(params);
    const format = FORMATS[negotiate(request.headers.accept, FORMAT_NAMES)]!;
    const headers: Record<string, string> = { Vary: 'Accept' };

    if (query.limit === undefined) {
      return { status: 200, contentType: format.contentType, headers, chunks: format.encode(await startReading(store.query(query))) };
    }
    const page: StoredEvent[] = [];
    try {
      for await (const chunk of store.query({ ...query, limit: query.limit + 1 })) page.push(...chunk);
    } catch (error) {
      throw readFailed(error);
    }
    if (page.length > query.limit) {
      page.length = query.limit;
      const next = new URLSearchParams(params);
      next.set('after', encodeCursor(page[page.length - 1]!));
      headers.Link = `</events?${next.toString()}>; rel="next"`;
    }
    return { status: 200, contentType: format.contentType, headers, chunks: format.encode(once(page)) };
  };
}

async function* once(events: readonly StoredEvent[]): AsyncIterable<readonly StoredEvent[]> {
  yield events;
}
