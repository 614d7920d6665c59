import { encodeEventJson } from '../encode/event-json.js';
import { HttpError } from '../http/http-error.js';
import { RawJson, type RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** GET /events/{id}: one event, or 404. */
export function createGetEventRoute(store: EventStore): RouteHandler {
  return async (_request, { pathParams }) => {
    const id = pathParams.id!;
    const event = UUID.test(id) ? await store.get(id) : undefined;
    if (event === undefined) throw new HttpError(404, `No event with id ${JSON.stringify(id)}`);
    return { status: 200, body: new RawJson(encodeEventJson(event)) };
  };
}
