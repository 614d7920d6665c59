import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StoredEvent } from '../../src/events/event.js';
import { createMemoryBudget, type MemoryBudget } from '../../src/http/memory-budget.js';
import { WHOLE_ANSWER_SIZE } from '../../src/routes/get-events.js';
import { CHUNK_SIZE } from '../../src/store/read-in-chunks.js';
import { parseRawResponse, rawExchange, type RawResponse } from '../helpers/raw-http.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/** GET `target` on a connection of its own, as the bytes the service sent: how the body is framed shows. */
async function rawGet(server: TestServer, target: string, accept?: string): Promise<{ response: RawResponse; text: string }> {
  const text = await rawExchange(
    server.url,
    `GET ${target} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\n${accept === undefined ? '' : `Accept: ${accept}\r\n`}Connection: close\r\n\r\n`,
    { halfClose: false }, // the service closes the connection once it has answered
  );
  return { response: parseRawResponse(text), text };
}

/** An event as the API spells it, built apart from the service's encoder. */
const apiJson = (event: StoredEvent): string =>
  JSON.stringify({ id: event.id, timestamp: new Date(event.timestampMs).toISOString(), user_id: event.userId, event_type: event.eventType, data: JSON.parse(event.dataJson) as unknown });

describe('answers small enough to send whole', () => {
  let server: TestServer;
  let budget: MemoryBudget;
  let few: StoredEvent[];
  let many: StoredEvent[];

  before(async () => {
    budget = createMemoryBudget(4 * CHUNK_SIZE);
    server = await startTestServer({ responseMemory: budget });
    few = await server.store.appendAll([
      { userId: 'few', eventType: 'login', dataJson: '{"n":1,"city":"Paris"}' },
      { userId: 'few', eventType: 'view', dataJson: '{"n":2}' },
      { userId: 'few', eventType: 'logout', dataJson: '{}' },
    ]);
    // More text than one answer sent whole may hold, in a single chunk of the store.
    const pad = 'x'.repeat(Math.ceil(WHOLE_ANSWER_SIZE / 3));
    many = await server.store.appendAll([0, 1, 2, 3].map((i) => ({ userId: 'many', eventType: 't', dataJson: JSON.stringify({ i, pad }) })));
  });
  after(() => server.close());

  it('sends an answer read in one small chunk whole, with its Content-Length, in each format, and gives its memory back', async () => {
    const csvData = (event: StoredEvent) => (/[",]/.test(event.dataJson) ? `"${event.dataJson.replace(/"/g, '""')}"` : event.dataJson);
    const expected = {
      'application/json': { type: 'application/json; charset=utf-8', body: `[${few.map(apiJson).join(',')}]` },
      'application/x-ndjson': { type: 'application/x-ndjson; charset=utf-8', body: few.map((event) => `${apiJson(event)}\n`).join('') },
      'text/csv': {
        type: 'text/csv; charset=utf-8; header=present',
        body: 'id,timestamp,user_id,event_type,data\r\n' +
          few.map((event) => `${event.id},${new Date(event.timestampMs).toISOString()},few,${event.eventType},${csvData(event)}\r\n`).join(''),
      },
    };
    for (const [accept, { type, body }] of Object.entries(expected)) {
      const { response } = await rawGet(server, '/events?user_id=few', accept);
      assert.equal(response.statusLine, 'HTTP/1.1 200 OK', accept);
      assert.equal(response.headers['content-type'], type);
      assert.equal(response.headers['content-length'], String(Buffer.byteLength(body)), accept);
      assert.equal(response.headers['transfer-encoding'], undefined, accept);
      assert.equal(response.headers['vary'], 'Accept');
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(response.body, body, accept);
      assert.equal(budget.reserved(), 0, `${accept}: the answer's memory given back`);
    }
  });

  it('sends an empty answer whole', async () => {
    const { response } = await rawGet(server, '/events?user_id=nobody');
    assert.equal(response.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(response.headers['content-length'], '2');
    assert.equal(response.body, '[]');
    assert.equal(budget.reserved(), 0);
  });

  it('sends a small page whole, with its Link to the next', async () => {
    const { response } = await rawGet(server, '/events?user_id=few&limit=2');
    assert.equal(response.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    assert.match(response.headers['link'] ?? '', /^<\/events\?user_id=few&limit=2&after=[^>]+>; rel="next"$/);
    const body = `[${few.slice(0, 2).map(apiJson).join(',')}]`;
    assert.equal(response.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(response.body, body);
    assert.equal(budget.reserved(), 0, 'the page\'s memory given back');
  });

  it('streams an answer of more text than that, in chunks, as before', async () => {
    for (const target of ['/events?user_id=many', '/events?user_id=many&limit=10']) {
      const { response, text } = await rawGet(server, target);
      assert.equal(response.statusLine, 'HTTP/1.1 200 OK', target);
      assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(response.headers['transfer-encoding'], 'chunked', target);
      assert.equal(response.headers['content-length'], undefined, target);
      const body = dechunk(text.slice(text.indexOf('\r\n\r\n') + 4));
      assert.equal(body, `[${many.map(apiJson).join(',')}]`, target);
      assert.equal(budget.reserved(), 0, `${target}: every chunk given back`);
    }
  });
});

/** The body of a chunked transfer coding, joined. */
function dechunk(text: string): string {
  let body = '';
  for (let at = 0; ;) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = Number.parseInt(text.slice(at, lineEnd), 16);
    if (size === 0) return body;
    const start = lineEnd + 2;
    // Sizes count bytes; the pieces here are ASCII.
    body += text.slice(start, start + size);
    at = start + size + 2;
  }
}
