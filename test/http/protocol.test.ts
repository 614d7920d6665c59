import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createJsonLogger } from '../../src/ops/logger.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/** Sends raw bytes and returns everything the server answers before closing. */
function rawRequest(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('authentication and protocol', () => {
  let server: TestServer;
  const logLines: string[] = [];
  before(async () => {
    server = await startTestServer({ log: createJsonLogger((text) => logLines.push(...text.trimEnd().split('\n'))) });
  });
  after(() => server.close());

  it('refuses a missing or wrong X-API-Key with 401 on both endpoints and stores nothing', async () => {
    for (const headers of [{}, { 'X-API-Key': 'wrong-key-0123456789abcdef' }, { 'X-API-Key': TEST_API_KEY + 'x' }]) {
      const post = await fetch(`${server.url}/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ user_id: 'unauthorised', event_type: 't' }),
      });
      assert.equal(post.status, 401);
      assert.match(await errorMessage(post), headers['X-API-Key' as never] ? /^Invalid API key$/ : /^Missing X-API-Key header$/);
      const get = await fetch(`${server.url}/events?user_id=unauthorised`, { headers });
      assert.equal(get.status, 401);
      await errorMessage(get);
    }
    assert.equal(await (await server.get('user_id=unauthorised')).text(), '[]');
  });

  it('accepts the key only in X-API-Key, never in the query string or Authorization', async () => {
    const inQuery = await fetch(`${server.url}/events?user_id=u&api_key=${TEST_API_KEY}`);
    assert.equal(inQuery.status, 401);
    const inAuthorization = await fetch(`${server.url}/events?user_id=u`, { headers: { Authorization: `Bearer ${TEST_API_KEY}` } });
    assert.equal(inAuthorization.status, 401);
    const twice = await fetch(`${server.url}/events?user_id=u`, {
      headers: [['X-API-Key', TEST_API_KEY], ['X-API-Key', TEST_API_KEY]],
    });
    assert.equal(twice.status, 401);
  });

  it('answers 404 for an unknown path, with or without a key', async () => {
    for (const path of ['/', '/event', '/events/', '/EVENTS', '//events']) {
      const response = await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': TEST_API_KEY } });
      assert.equal(response.status, 404, path);
      assert.match(await errorMessage(response), /No such endpoint/);
    }
  });

  it('answers 405 with an Allow header for other methods on /events', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(`${server.url}/events`, { method, headers: { 'X-API-Key': TEST_API_KEY } });
      assert.equal(response.status, 405);
      assert.equal(response.headers.get('allow'), 'GET, POST');
      assert.match(await errorMessage(response), new RegExp(`${method} is not allowed`));
    }
  });

  it('answers requests Node cannot parse with JSON too, and keeps serving', async () => {
    const garbage = await rawRequest(server.url, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(garbage, /Content-Type: application\/json; charset=utf-8/);
    assert.deepEqual(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)), { message: 'Bad Request: the request could not be read' });

    const hugeHeader = await rawRequest(server.url, `GET /events?user_id=u HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(hugeHeader, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);

    assert.equal((await server.get('user_id=u')).status, 200);
  });

  it('logs one JSON line per request without the key, the query string or the body', async () => {
    logLines.length = 0;
    await server.post({ user_id: 'secret-user', event_type: 'secret-type', data: { secret: 'payload' } });
    await server.get('user_id=secret-user');
    await fetch(`${server.url}/events?user_id=x`, { headers: { 'X-API-Key': 'a-wrong-key-that-must-not-be-logged' } });
    await new Promise((resolve) => setTimeout(resolve, 20)); // 'close' fires just after the response
    assert.equal(logLines.length, 3);
    const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(entries.map((e) => [e.method, e.path, e.status]), [['POST', '/events', 201], ['GET', '/events', 200], ['GET', '/events', 401]]);
    for (const entry of entries) assert.equal(typeof entry.duration_ms, 'number');
    const all = logLines.join('');
    for (const secret of [TEST_API_KEY, 'a-wrong-key', 'secret-user', 'secret-type', 'payload']) assert.ok(!all.includes(secret), secret);
  });
});
