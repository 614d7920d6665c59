import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

const PAGE = 'https://audit.example.com';
const OTHER = 'https://evil.example';

/** The preflight Chromium sends before a page's POST with a key and a JSON body. */
function preflight(url: string, origin: string, method = 'POST'): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': method,
      'Access-Control-Request-Headers': 'content-type,idempotency-key,x-api-key',
      'Sec-Fetch-Mode': 'cors',
      'Sec-Fetch-Site': 'cross-site',
      'Sec-Fetch-Dest': 'empty',
      Accept: '*/*',
    },
  });
}

function corsHeaders(response: Response): Record<string, string> {
  return Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-') || name === 'vary'));
}

describe(`CORS for the origins listed (${TEST_BACKEND})`, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ corsOrigins: [PAGE, 'http://localhost:3000'] });
  });
  after(() => server.close());

  it('answers a preflight from a listed origin with what the page may send, and caches it for 10 minutes', async () => {
    const response = await preflight(`${server.url}/events`, PAGE);
    assert.equal(response.status, 204);
    assert.deepEqual(corsHeaders(response), {
      'access-control-allow-origin': PAGE,
      'access-control-allow-methods': 'GET, HEAD, POST',
      'access-control-allow-headers': 'X-API-Key, Authorization, Idempotency-Key, Content-Type, X-Request-Id',
      'access-control-max-age': '600',
      vary: 'Origin',
    });
    assert.equal(response.headers.get('access-control-allow-credentials'), null, 'keys travel in headers; no cookies');
    assert.equal(await response.text(), '');
    const one = await preflight(`${server.url}/events/00000000-0000-7000-8000-000000000000`, 'http://localhost:3000', 'GET');
    assert.equal(one.status, 204);
    assert.equal(one.headers.get('access-control-allow-methods'), 'GET, HEAD');
  });

  it('lets the page read answers, errors included, and the headers it needs', async () => {
    const posted = await server.post({ user_id: 'cors', event_type: 't' }, { Origin: PAGE, 'Idempotency-Key': 'cors-1' });
    assert.equal(posted.status, 201);
    assert.deepEqual(corsHeaders(posted), {
      'access-control-allow-origin': PAGE,
      'access-control-expose-headers': 'Link, Location, X-Request-Id, Retry-After, Idempotent-Replayed',
      vary: 'Origin',
    });
    const listed = await server.get('user_id=cors&limit=1', { Origin: PAGE });
    assert.equal(listed.status, 200);
    assert.equal(listed.headers.get('access-control-allow-origin'), PAGE);
    assert.equal(listed.headers.get('vary'), 'Origin, Accept', 'the answer varies by both');
    const refused = await fetch(`${server.url}/events?user_id=cors`, { headers: { Origin: PAGE } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), PAGE, 'a page can tell its user the key is missing');
    assert.equal(await errorMessage(refused), 'Missing API key: send it in X-API-Key, or as Authorization: Bearer <key>');
  });

  it('gives an origin not listed nothing to read by: a 403 preflight and no CORS header', async () => {
    const response = await preflight(`${server.url}/events`, OTHER);
    assert.equal(response.status, 403);
    assert.deepEqual(corsHeaders(response), { vary: 'Origin' });
    assert.equal(await errorMessage(response), `The origin ${OTHER} may not call this service from a browser (AUDITOR_CORS_ORIGINS)`);
    const read = await server.get('user_id=cors', { Origin: OTHER });
    assert.equal(read.status, 200);
    assert.deepEqual(corsHeaders(read), { vary: 'Origin, Accept' });
    const lookalike = await preflight(`${server.url}/events`, `${PAGE}.evil.example`);
    assert.equal(lookalike.status, 403);
  });

  it('answers an OPTIONS that is not a preflight, and a preflight to no endpoint, as before: 405 and 404', async () => {
    const plain = await fetch(`${server.url}/events`, { method: 'OPTIONS', headers: { Origin: PAGE, 'X-API-Key': TEST_API_KEY } });
    assert.equal(plain.status, 405);
    assert.equal(plain.headers.get('access-control-allow-origin'), PAGE);
    const nowhere = await preflight(`${server.url}/nowhere`, PAGE);
    assert.equal(nowhere.status, 404);
  });
});

describe(`CORS when no origin is listed, the default (${TEST_BACKEND})`, () => {
  it('sends no CORS header at all, and refuses a preflight as any OPTIONS: 405', async () => {
    const server = await startTestServer();
    try {
      const response = await preflight(`${server.url}/events`, PAGE);
      assert.equal(response.status, 405);
      assert.deepEqual(corsHeaders(response), {});
      const read = await server.get('user_id=cors', { Origin: PAGE });
      assert.equal(read.status, 200);
      assert.deepEqual(corsHeaders(read), { vary: 'Accept' });
    } finally {
      await server.close();
    }
  });
});
