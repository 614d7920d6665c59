import { NO_KEY_NAME } from '../auth/keys-file.js';
import { parseNewEvent } from '../events/parse-new-event.js';
import { HttpError } from '../http/http-error.js';
import { readJsonBody } from '../http/read-body.js';
import type { BodyLimits, RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';

/** An Idempotency-Key: what a client would generate (a UUID, a hash), in a header's own alphabet. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * POST /events: validate, store durably, then answer 201 with the new id. With an
 * Idempotency-Key, a retry of the same event within 24 hours gets the original answer and
 * `Idempotent-Replayed: true`, and the same key with a different event is a 422.
 */
export function createPostEventsRoute(store: EventStore, bodies: BodyLimits, countIngested?: (count: number) => void): RouteHandler {
  return async (request, { caller }) => {
    // Node joins a repeated Idempotency-Key with ", ", which the pattern then refuses.
    const idempotencyKey = request.headers['idempotency-key'] as string | undefined;
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new HttpError(400, 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    const keyName = caller?.keyName ?? NO_KEY_NAME;
    // The body is held against the request memory until the event is stored (or refused).
    const body = await readJsonBody(request, bodies.maxBytes, { budget: bodies.memory, holder: keyName });
    let stored;
    try {
      const event = parseNewEvent(body.text);
      event.keyName = keyName;
      if (idempotencyKey !== undefined) event.idempotencyKey = idempotencyKey;
      stored = await store.append(event);
    } finally {
      body.release();
    }
    const headers: Record<string, string> = { Location: `/events/${stored.id}` };
    if (stored.replayed === true) headers['Idempotent-Replayed'] = 'true';
    else countIngested?.(1);
    return { status: 201, body: { message: 'Event recorded', id: stored.id }, headers };
  };
}
