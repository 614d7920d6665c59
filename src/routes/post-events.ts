import { parseNewEvent } from '../events/parse-new-event.js';
import { HttpError } from '../http/http-error.js';
import { readJsonBody } from '../http/read-body.js';
import type { RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';

/** POST /events: validate, store durably, then answer 201 with the new id. */
export function createPostEventsRoute(store: EventStore, maxBodyBytes: number): RouteHandler {
  return async (request, { caller }) => {
    const event = { ...parseNewEvent(await readJsonBody(request, maxBodyBytes)), keyName: caller.keyName };
    let stored;
    try {
      stored = await store.append(event);
    } catch (error) {
      // Not committed, so not recorded: say so plainly, and that a retry is safe.
      throw new HttpError(503, 'The event could not be stored and was not recorded; retry later', { 'Retry-After': '1' }, { cause: error });
    }
    return {
      status: 201,
      body: { message: 'Event recorded', id: stored.id },
      headers: { Location: `/events/${stored.id}` },
    };
  };
}
