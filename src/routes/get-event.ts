import { encodeEventJson } from '../encode/event-json.js';
import type { StoredEvent } from '../events/event.js';
import { HttpError } from '../http/http-error.js';
import { RawJson, type RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';
import { readFailed } from './read-failure.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** GET /events/{id}: one event, or 404. */
export function createGetEventRoute(store: EventStore): RouteHandler {
  return async (_request, { pathId: id }) => {
    let event: StoredEvent | undefined;
    if (UUID.test(id)) {
      try {
        event = await store.get(id);
      } catch (error) {
        throw readFailed(error);
      }
    }
    if (event === undefined) throw new HttpError(404, `No event with id ${JSON.stringify(id)}`);
    return { status: 200, body: new RawJson(encodeEventJson(event)) };
  };
}
