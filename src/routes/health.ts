import { HttpError } from '../http/http-error.js';
import type { RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';

/** GET /healthz: the process is alive and serving. No key: orchestrators probe it. */
export const getHealthz: RouteHandler = async () => ({ status: 200, body: { status: 'ok' } });

/** GET /readyz: an event posted now can be stored (and events read); 503 while not. */
export function createGetReadyzRoute(store: EventStore): RouteHandler {
  return async () => {
    if (!(await store.isReady())) throw new HttpError(503, 'The database cannot store events now', { 'Retry-After': '1' });
    return { status: 200, body: { status: 'ready' } };
  };
}
