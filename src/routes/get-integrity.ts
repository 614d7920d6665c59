import type { RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';

/**
 * GET /integrity: a signed checkpoint of the chain's head. Saved somewhere the database's owner
 * cannot write, it lets `npm run verify --checkpoint` prove later that nothing it covers was
 * removed or rewritten.
 */
export function createGetIntegrityRoute(store: EventStore): RouteHandler {
  return async () => {
    const checkpoint = await store.checkpoint();
    return {
      status: 200,
      body: {
        event_count: checkpoint.eventCount,
        last_id: checkpoint.lastId,
        head_hash: checkpoint.headHash,
        created_at: checkpoint.createdAt,
        signature: checkpoint.signature,
      },
    };
  };
}
