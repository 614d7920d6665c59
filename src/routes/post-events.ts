import { parseNewEvent } from '../events/parse-new-event.js';
import { readJsonBody } from '../http/read-body.js';
import type { RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';

/** POST /events: validate, store durably, then answer 201 with the new id. */
export function createPostEventsRoute(store: EventStore, maxBodyBytes: number): RouteHandler {
  return async (request) => {
    const event = parseNewEvent(await readJsonBody(request, maxBodyBytes));
    const stored = await store.append(event);
    return { status: 201, body: { message: 'Event recorded', id: stored.id } };
  };
}
