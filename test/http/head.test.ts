import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WHOLE_ANSWER_SIZE } from '../../src/routes/get-events.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { createMetricsServer } from '../../src/ops/metrics-server.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/**
 * Headers that differ between any two responses, that only a body being sent decides, or that are
 * the connection's (fetch sends `Connection: close` with every HEAD, and the server agrees).
 */
const PER_RESPONSE = new Set(['date', 'x-request-id', 'transfer-encoding', 'connection', 'keep-alive']);

/** The metrics' text (hence its length) changes between any two scrapes: each counts the one before. */
function comparableHeaders(response: Response): Record<string, string> {
  const scrape = new URL(response.url).pathname === '/metrics';
  return Object.fromEntries([...response.headers].filter(([name]) => !PER_RESPONSE.has(name) && !(scrape && name === 'content-length')));
}

/** Sends `requests` on one connection, then reads until the server closes it: the raw bytes. */
async function exchange(url: string, requests: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  // Written, not ended: a server that reads the end of a client's half would drop the requests
  // still being answered; the GET's Connection: close ends the exchange instead.
  socket.write(requests);
  const parts: Buffer[] = [];
  socket.on('data', (part: Buffer) => parts.push(part));
  await once(socket, 'close');
  return Buffer.concat(parts).toString('latin1');
}

describe(`HEAD on every GET route (${TEST_BACKEND})`, () => {
  let server: TestServer;
  let id = '';
  const metrics = createMetrics();

  before(async () => {
    server = await startTestServer({ metrics });
    const posted = await server.post({ user_id: 'head', event_type: 'seen', data: { n: 1 } });
    id = ((await posted.json()) as { id: string }).id;
    assert.equal((await server.post({ user_id: 'head', event_type: 'seen', data: { n: 2 } })).status, 201);
    // A user whose answer is too large to be sent whole: it is streamed.
    const pad = 'p'.repeat(8 * 1024);
    const batch = Array.from({ length: Math.ceil((2 * WHOLE_ANSWER_SIZE) / pad.length) }, (_, n) => ({ user_id: 'streamed', event_type: 't', data: { n, pad } }));
    const stored = await fetch(`${server.url}/events/batch`, {
      method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(batch),
    });
    assert.equal(stored.status, 201);
  });
  after(() => server.close());

  const paths = (): string[] => [
    '/events?user_id=head',
    '/events?user_id=head&limit=1',
    '/events?user_id=streamed',
    '/events?event_type=seen&all=true',
    '/events/summary?group_by=event_type',
    `/events/${id}`,
    `/events/${id}/proof`,
    '/proofs/consistency?from=1&to=2',
    '/checkpoint',
    '/checkpoint/key',
    '/integrity',
    '/metrics',
    '/openapi.json',
    '/healthz',
    '/readyz',
    '/events/00000000-0000-7000-8000-000000000000', // 404
    '/events?user_id=head&limit=0', // 400
    '/nowhere', // 404 for no route
  ];

  it('answers with the status and headers GET answers, and no body, through fetch', async () => {
    for (const path of paths()) {
      // fetch asks for compressed answers unless told otherwise: HEAD and GET must agree either way.
      const variants = [{ 'X-API-Key': TEST_API_KEY }, {}, { 'X-API-Key': TEST_API_KEY, Accept: 'text/csv' }, { 'X-API-Key': TEST_API_KEY, 'Accept-Encoding': 'identity' }];
      for (const headers of variants) {
        const get = await fetch(`${server.url}${path}`, { headers });
        const getBody = await get.arrayBuffer();
        const head = await fetch(`${server.url}${path}`, { method: 'HEAD', headers });
        assert.equal(head.status, get.status, `${path} ${JSON.stringify(headers)}`);
        assert.deepEqual(comparableHeaders(head), comparableHeaders(get), path);
        assert.equal((await head.arrayBuffer()).byteLength, 0, path);
        // fetch hands over the body decoded, so the bytes counted are the sent ones only when uncompressed.
        if (get.headers.has('content-length') && !get.headers.has('content-encoding') && path !== '/metrics') {
          assert.equal(Number(head.headers.get('content-length')), getBody.byteLength, path);
        }
      }
    }
  });

  it('sends no body on the wire: a GET pipelined after a HEAD is read as the next response', async () => {
    for (const path of ['/events?user_id=head', '/events?user_id=streamed', '/healthz', '/metrics']) {
      const raw = await exchange(server.url,
        `HEAD ${path} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\n\r\n` +
        `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const [headHead = '', rest = ''] = raw.split(/\r\n\r\n(.*)/s);
      assert.match(headHead, /^HTTP\/1\.1 200 OK\r\n/, path);
      assert.match(rest, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\{"status":"ok"\}$/, `${path}: what follows the HEAD's headers is the next response`);
    }
  });

  it('lists HEAD in Allow wherever GET is, and answers 405 to HEAD where there is no GET', async () => {
    const put = await fetch(`${server.url}/events`, { method: 'PUT', headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, HEAD, POST');
    const head = await fetch(`${server.url}/events/batch`, { method: 'HEAD', headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(head.status, 405);
    assert.equal(head.headers.get('allow'), 'POST');
    assert.equal(head.headers.get('content-type'), 'application/json; charset=utf-8');
  });

  it('is counted and logged as HEAD', async () => {
    await fetch(`${server.url}/healthz`, { method: 'HEAD' });
    assert.match(await metrics.registry.metrics(), /^auditor_http_requests_total\{route="\/healthz",method="HEAD",status="200"\} [1-9]\d*$/m);
  });
});

describe('HEAD on the metrics port', () => {
  it('answers /metrics as GET does, without a body', async () => {
    const metrics = createMetrics();
    const server = createMetricsServer(metrics, silentLogger);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
      const get = await fetch(url);
      await get.arrayBuffer();
      const head = await fetch(url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.deepEqual(comparableHeaders(head), comparableHeaders(get));
      assert.equal((await head.arrayBuffer()).byteLength, 0);
    } finally {
      server.close();
    }
  });
});
