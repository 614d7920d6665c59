import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventStore } from '../../src/store/event-store.js';
import { IdempotencyConflictError } from '../../src/store/idempotency.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable.js';
import { captureLog } from '../helpers/capture-log.js';
import { fakeStore } from '../helpers/fake-store.js';
import { startTestServer, TEST_API_KEY } from '../helpers/test-server.js';

const EVENT = JSON.stringify({ user_id: 'u', event_type: 't' });
const BATCH = JSON.stringify([{ user_id: 'u', event_type: 't' }, { user_id: 'u', event_type: 'u' }]);
const AN_ID = '0190a000-0000-7000-8000-000000000001';

const READ = 'The events could not be read from the database; retry later';
const NOT_RECORDED = 'The event could not be stored and was not recorded; retry later';
const NONE_RECORDED = 'The events could not be stored and none was recorded; retry later';
const UNCONFIRMED = 'The database did not confirm the commit: ';

/** A store whose every method that can fail fails with `error`, as a backend's would. */
function failingStore(error: Error): EventStore {
  const refuse = (): Promise<never> => Promise.reject(error);
  return fakeStore({
    append: refuse,
    appendAll: refuse,
    get: refuse,
    checkpoint: refuse,
    async *query() {
      yield await refuse();
    },
  });
}

type Request = { method: 'GET' | 'POST'; path: string; body?: string; headers?: Record<string, string> };

const ROUTES: ReadonlyArray<{ request: Request; known: string; unconfirmed: string }> = [
  { request: { method: 'GET', path: '/events?user_id=u' }, known: READ, unconfirmed: READ },
  { request: { method: 'GET', path: '/events?user_id=u', headers: { Accept: 'text/csv' } }, known: READ, unconfirmed: READ },
  { request: { method: 'GET', path: '/events?user_id=u&limit=10' }, known: READ, unconfirmed: READ },
  { request: { method: 'GET', path: `/events/${AN_ID}` }, known: READ, unconfirmed: READ },
  { request: { method: 'GET', path: '/integrity' }, known: READ, unconfirmed: READ },
  {
    request: { method: 'POST', path: '/events', body: EVENT },
    known: NOT_RECORDED,
    unconfirmed: `${UNCONFIRMED}the event may or may not have been recorded, and a retry may store it twice. Send an Idempotency-Key with each event to make retries safe`,
  },
  {
    request: { method: 'POST', path: '/events', body: EVENT, headers: { 'Idempotency-Key': 'k-1' } },
    known: NOT_RECORDED,
    unconfirmed: `${UNCONFIRMED}the event may or may not have been recorded. Retry with the same Idempotency-Key: that stores it once, whichever happened`,
  },
  {
    request: { method: 'POST', path: '/events/batch', body: BATCH },
    known: NONE_RECORDED,
    unconfirmed: `${UNCONFIRMED}the events were recorded all together or not at all. Look for them (GET /events) before sending them again, ` +
      'which would store them twice if they were',
  },
];

function send(url: string, { method, path, body, headers = {} }: Request): Promise<Response> {
  return fetch(`${url}${path}`, {
    method,
    headers: { 'X-API-Key': TEST_API_KEY, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body }),
  });
}

/** Asserts the whole JSON error response. */
async function assertAnswer(response: Response, status: number, message: string, what: string): Promise<void> {
  assert.equal(response.status, status, what);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8', what);
  assert.equal(response.headers.get('retry-after'), status === 503 ? '1' : null, what);
  assert.deepEqual(await response.json(), { message }, what);
}

describe('what each route answers when the store refuses', () => {
  it('answers a StoreUnavailableError from every route that uses the store 503 with Retry-After, saying what became of the request', async () => {
    const captured = captureLog();
    const server = await startTestServer({ log: captured.logger, store: failingStore(new StoreUnavailableError('the database is down')) });
    try {
      for (const { request, known } of ROUTES) await assertAnswer(await send(server.url, request), 503, known, `${request.method} ${request.path}`);
    } finally {
      await server.close();
    }
    // The store logs what it recognised, counted; the HTTP layer adds nothing per request.
    assert.deepEqual(captured.lines.filter((line) => line.level === 'error'), []);
  });

  it('says a write may have been recorded when the database did not confirm its commit, and what makes a retry safe', async () => {
    const error = new StoreUnavailableError('the database did not confirm the COMMIT (Query read timeout)', { outcomeUnknown: true });
    const server = await startTestServer({ store: failingStore(error) });
    try {
      for (const { request, unconfirmed } of ROUTES) await assertAnswer(await send(server.url, request), 503, unconfirmed, `${request.method} ${request.path}`);
    } finally {
      await server.close();
    }
  });

  it('logs the cause of a failure the store did not recognise, with its stack, once per request', async () => {
    const captured = captureLog();
    const error = new StoreUnavailableError('the store failed', { cause: new Error('an unknown driver error'), recognised: false });
    const server = await startTestServer({ log: captured.logger, store: failingStore(error) });
    try {
      for (const { request, known } of ROUTES) await assertAnswer(await send(server.url, request), 503, known, `${request.method} ${request.path}`);
    } finally {
      await server.close();
    }
    const logged = captured.lines.filter((line) => line.level === 'error');
    assert.deepEqual(logged.map((line) => line.msg), ROUTES.map(({ known }) => known));
    for (const line of logged) assert.match(String(line.error), /^Error: an unknown driver error\n\s+at /);
  });

  it('answers an Idempotency-Key reused for a different event 422, naming the key', async () => {
    const server = await startTestServer({ store: failingStore(new IdempotencyConflictError('the Idempotency-Key was used for a different event')) });
    try {
      const response = await send(server.url, { method: 'POST', path: '/events', body: EVENT, headers: { 'Idempotency-Key': 'order-42' } });
      await assertAnswer(response, 422, 'The Idempotency-Key "order-42" was already used for a different event; nothing was recorded', 'conflict');
    } finally {
      await server.close();
    }
  });

  it('answers anything else a store throws as a fault of ours: 500, revealing nothing, logged with its stack', async () => {
    const captured = captureLog();
    const server = await startTestServer({ log: captured.logger, store: failingStore(new TypeError('a fault of the code')) });
    try {
      for (const { request } of ROUTES) {
        await assertAnswer(await send(server.url, request), 500, 'Internal server error', `${request.method} ${request.path}`);
      }
    } finally {
      await server.close();
    }
    const logged = captured.lines.filter((line) => line.level === 'error');
    assert.equal(logged.length, ROUTES.length);
    for (const line of logged) {
      assert.equal(line.msg, 'request failed');
      assert.match(String(line.error), /^TypeError: a fault of the code\n\s+at /);
    }
  });
});
