import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StoreUnavailableError } from '../../src/store/store-unavailable.js';
import { breakStore } from '../helpers/break-store.js';
import { fakeStore } from '../helpers/fake-store.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

describe('POST /events/batch', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ maxBodyBytes: 64 * 1024 });
  });
  after(() => server.close());

  const postBatch = (body: string | unknown[]) =>
    fetch(`${server.url}/events/batch`, {
      method: 'POST',
      headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('stores every event, in order, and answers their ids', async () => {
    const body = '[{"user_id":"batch-1","event_type":"a","data":{"n":1.50}}, {"user_id":"batch-1","event_type":"b"},\n {"user_id":"batch-1","event_type":"c","data":{"big":12345678901234567890}}]';
    const response = await postBatch(body);
    assert.equal(response.status, 201);
    const answer = (await response.json()) as { message: string; ids: string[] };
    assert.equal(answer.message, '3 events recorded');
    assert.equal(answer.ids.length, 3);
    const text = await (await server.get('user_id=batch-1')).text();
    const events = JSON.parse(text) as Array<{ id: string; event_type: string }>;
    assert.deepEqual(events.map((e) => e.id), answer.ids);
    assert.deepEqual(events.map((e) => e.event_type), ['a', 'b', 'c']);
    assert.ok(text.includes('"data":{"n":1.50}') && text.includes('"data":{"big":12345678901234567890}'));
  });

  it('says "1 event recorded" for a batch of one', async () => {
    const response = await postBatch([{ user_id: 'batch-one', event_type: 'a' }]);
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    const answer = (await response.json()) as { message: string; ids: string[] };
    const stored = (await (await server.get('user_id=batch-one')).json()) as Array<{ id: string }>;
    assert.deepEqual(answer, { message: '1 event recorded', ids: stored.map((event) => event.id) });
    assert.equal(stored.length, 1);
  });

  it('refuses the whole batch when any event is bad, naming each by index and field', async () => {
    const response = await postBatch([
      { user_id: 'batch-2', event_type: 'ok' },
      { event_type: 'no user' },
      { user_id: 'batch-2', event_type: 'ok' },
      { user_id: 'batch-2', event_type: '', extra: 1 },
      'not an event',
    ]);
    assert.equal(response.status, 400);
    const body = (await response.json()) as { message: string; errors: Array<{ index: number; message: string }> };
    assert.equal(body.message, '3 of 5 events are invalid; nothing was stored');
    assert.deepEqual(body.errors, [
      { index: 1, message: 'user_id is required' },
      { index: 3, message: 'Unknown property "extra": an event has only user_id, event_type and data' },
      { index: 4, message: 'The event must be a JSON object with user_id, event_type and optional data' },
    ]);
    assert.equal(await (await server.get('user_id=batch-2')).text(), '[]');
  });

  it('accepts events with data nested 64 levels deep and names each event nested 65 levels', async () => {
    const event = (levels: number) => `{"user_id":"batch-nesting","event_type":"t","data":${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}}`;
    const refused = await postBatch(`[${event(64)},${event(65)},${event(64)},${event(200)}]`);
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get('content-type'), 'application/json; charset=utf-8');
    const tooDeep = 'data is nested more than 64 levels deep (data itself is level 1): flatten it';
    assert.deepEqual(await refused.json(), {
      message: '2 of 4 events are invalid; nothing was stored',
      errors: [{ index: 1, message: tooDeep }, { index: 3, message: tooDeep }],
    });
    assert.equal(await (await server.get('user_id=batch-nesting')).text(), '[]');

    const accepted = await postBatch(`[${event(64)},${event(64)}]`);
    assert.equal(accepted.status, 201);
    assert.equal(((await accepted.json()) as { ids: string[] }).ids.length, 2);
  });

  it('refuses what is not a batch of 1 to 1000 events', async () => {
    for (const [body, status, message] of [
      ['{"user_id":"x","event_type":"t"}', 400, /must be a JSON array of events/],
      ['[]', 400, /The batch is empty/],
      [JSON.stringify(Array.from({ length: 1001 }, () => ({}))), 400, /has 1001 events; at most 1000/],
      ['[{"user_id":"x","event_type":"t","data":{"a":1,"a":2}}]', 400, /duplicate property "a"/],
      ['[{"user_id":', 400, /not valid JSON/],
      [JSON.stringify(Array.from({ length: 500 }, () => ({ user_id: 'x', event_type: 't', data: { pad: 'x'.repeat(200) } }))), 413, /larger than the limit/],
    ] as const) {
      const response = await postBatch(body);
      assert.equal(response.status, status, body.slice(0, 40));
      assert.match(await errorMessage(response), message);
    }
  });

  it('needs the ingest scope and allows only POST', async () => {
    const get = await fetch(`${server.url}/events/batch`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const anonymous = await fetch(`${server.url}/events/batch`, { method: 'POST', body: '[]' });
    assert.equal(anonymous.status, 401);
  });
});

describe(`POST /events/batch when the store cannot write (${TEST_BACKEND})`, () => {
  const NONE_RECORDED = { message: 'The events could not be stored and none was recorded; retry later' };
  const postBatch = (server: TestServer, userId: string) =>
    fetch(`${server.url}/events/batch`, {
      method: 'POST',
      headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify([{ user_id: userId, event_type: 'a' }, { user_id: userId, event_type: 'b' }]),
    });
  async function assertNoneRecorded(response: Response): Promise<void> {
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(response.headers.get('retry-after'), '1');
    assert.deepEqual(await response.json(), NONE_RECORDED);
  }

  it('answers 503 with Retry-After, saying none was recorded, when the database refuses the write', async () => {
    const server = await startTestServer();
    try {
      assert.equal((await postBatch(server, 'before')).status, 201);
      await breakStore(server);
      await assertNoneRecorded(await postBatch(server, 'refused'));
      if (server.database.location.kind === 'postgres') assert.equal(await server.database.countEvents('refused'), 0);
    } finally {
      await server.close();
    }
  });

  it('answers 503 with Retry-After, saying none was recorded, when the store fails in a way it does not know', async () => {
    const server = await startTestServer({ store: fakeStore({ appendAll: () => Promise.reject(new StoreUnavailableError('the store failed', { cause: new Error('a fault of the code'), recognised: false })) }) });
    try {
      await assertNoneRecorded(await postBatch(server, 'fault'));
    } finally {
      await server.close();
    }
  });
});
