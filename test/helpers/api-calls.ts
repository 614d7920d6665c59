import assert from 'node:assert/strict';
import { TEST_API_KEY, type TestServer } from './test-server.js';

/** An event as the API answers it, removal included. */
export type ApiEvent = {
  id: string;
  timestamp: string;
  user_id: string;
  event_type: string;
  data: Record<string, unknown> | null;
  removed?: { reason: string; at: string; by: string };
};

/** Calls on a test server with its admin key, asserting the status of those that must succeed. */
export function apiCalls(server: () => TestServer) {
  return {
    /** Any request, its body sent as JSON (or as it is, when a string). */
    call: (method: string, path: string, body?: unknown) =>
      fetch(`${server().url}${path}`, {
        method,
        headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    /** GET /events?query, which must answer 200. */
    async events(query: string): Promise<ApiEvent[]> {
      const response = await server().get(query);
      assert.equal(response.status, 200);
      return (await response.json()) as ApiEvent[];
    },
    /** POST /events, which must answer 201; its id. */
    async post(event: unknown): Promise<string> {
      const response = await server().post(event);
      assert.equal(response.status, 201);
      return ((await response.json()) as { id: string }).id;
    },
    /** GET /events/{id}. */
    byId: async (id: string): Promise<ApiEvent> => (await (await fetch(`${server().url}/events/${id}`, { headers: { 'X-API-Key': TEST_API_KEY } })).json()) as ApiEvent,
  };
}
