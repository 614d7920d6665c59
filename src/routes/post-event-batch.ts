import { NO_KEY_NAME } from '../auth/keys-file.js';
import { parseEventBatch } from '../events/parse-event-batch.js';
import { readJsonBody } from '../http/read-body.js';
import type { RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';
import { writeFailed } from './write-failure.js';

/** POST /events/batch: validate every event, store them all in one transaction, answer their ids. */
export function createPostEventBatchRoute(store: EventStore, maxBodyBytes: number, countIngested?: (count: number) => void): RouteHandler {
  return async (request, { caller }) => {
    const events = parseEventBatch(await readJsonBody(request, maxBodyBytes)).map((event) => ({ ...event, keyName: caller?.keyName ?? NO_KEY_NAME }));
    let stored;
    try {
      stored = await store.appendAll(events);
    } catch (error) {
      throw writeFailed(error, { batch: true, idempotencyKey: false });
    }
    countIngested?.(stored.length);
    return { status: 201, body: { message: `${stored.length} events recorded`, ids: stored.map((event) => event.id) } };
  };
}
