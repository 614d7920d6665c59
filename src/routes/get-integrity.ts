import type { RouteHandler } from '../http/route.js';
import { checkpointToJson } from '../integrity/checkpoint-json.js';
import type { EventStore } from '../store/event-store.js';

/**
 * GET /integrity: a signed checkpoint of the chain's head. Saved somewhere the database's owner
 * cannot write, it lets `npm run verify --checkpoint` prove later that nothing it covers was
 * removed or rewritten.
 */
export function createGetIntegrityRoute(store: EventStore): RouteHandler {
  return async () => ({ status: 200, body: checkpointToJson(await store.checkpoint()) });
}
