import { encodeJsonArray } from '../encode/json-array.js';
import { parseEventQuery } from '../events/parse-event-query.js';
import type { RouteHandler } from '../http/route.js';
import { JSON_CONTENT_TYPE } from '../http/send-reply.js';
import type { EventStore } from '../store/event-store.js';

/** GET /events: the matching events, oldest first, streamed as a JSON array. */
export function createGetEventsRoute(store: EventStore): RouteHandler {
  return async (_request, params) => {
    const query = parseEventQuery(params);
    return { status: 200, contentType: JSON_CONTENT_TYPE, chunks: encodeJsonArray(store.query(query)) };
  };
}
