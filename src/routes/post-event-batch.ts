import { NO_KEY_NAME } from '../auth/keys-file.js';
import { parseEventBatch } from '../events/parse-event-batch.js';
import { readJsonBody } from '../http/read-body.js';
import type { BodyLimits, RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';

/** POST /events/batch: validate every event, store them all in one transaction, answer their ids. */
export function createPostEventBatchRoute(store: EventStore, bodies: BodyLimits, countIngested?: (count: number) => void): RouteHandler {
  return async (request, { caller }) => {
    const keyName = caller?.keyName ?? NO_KEY_NAME;
    // The body is held against the request memory until the events are stored (or refused).
    const body = await readJsonBody(request, bodies.maxBytes, { budget: bodies.memory, holder: keyName });
    let stored;
    try {
      stored = await store.appendAll(parseEventBatch(body.text).map((event) => ({ ...event, keyName })));
    } finally {
      body.release();
    }
    countIngested?.(stored.length);
    const message = stored.length === 1 ? '1 event recorded' : `${stored.length} events recorded`;
    return { status: 201, body: { message, ids: stored.map((event) => event.id) } };
  };
}
