import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreUnavailableError } from '../../src/store/store-unavailable.js';
import { fakeStore } from '../helpers/fake-store.js';
import { startTestServer, TEST_API_KEY } from '../helpers/test-server.js';

const unconfirmed = (): Promise<never> =>
  Promise.reject(new StoreUnavailableError('the database did not confirm the COMMIT (Query read timeout)', { outcomeUnknown: true }));

async function assertUnavailable(response: Response, message: string): Promise<void> {
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('retry-after'), '1');
  assert.deepEqual(await response.json(), { message });
}

describe('a write whose commit the database did not confirm', () => {
  it('is answered 503 saying it may have been recorded, and what makes a retry safe', async () => {
    const server = await startTestServer({ store: fakeStore({ append: unconfirmed, appendAll: unconfirmed }) });
    try {
      await assertUnavailable(await server.post({ user_id: 'u', event_type: 't' }, { 'Idempotency-Key': 'k-1' }),
        'The database did not confirm the commit: the event may or may not have been recorded. Retry with the same Idempotency-Key: ' +
        'that stores it once, whichever happened');
      await assertUnavailable(await server.post({ user_id: 'u', event_type: 't' }),
        'The database did not confirm the commit: the event may or may not have been recorded, and a retry may store it twice. ' +
        'Send an Idempotency-Key with each event to make retries safe');
      const batch = await fetch(`${server.url}/events/batch`, {
        method: 'POST',
        headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify([{ user_id: 'u', event_type: 't' }, { user_id: 'u', event_type: 't' }]),
      });
      await assertUnavailable(batch, 'The database did not confirm the commit: the events were recorded all together or not at all. ' +
        'Look for them (GET /events) before sending them again, which would store them twice if they were');
    } finally {
      await server.close();
    }
  });
});
