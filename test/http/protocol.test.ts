import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createJsonLogger } from '../../src/ops/logger.js';
import { captureLog, type CapturedLog } from '../helpers/capture-log.js';
import { parseRawResponse, rawExchange } from '../helpers/raw-http.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

describe('authentication and protocol', () => {
  let server: TestServer;
  let log: CapturedLog;
  before(async () => {
    log = captureLog();
    server = await startTestServer({ log: log.logger });
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
      assert.match(await errorMessage(post), headers['X-API-Key' as never] ? /^Invalid API key$/ : /^Missing API key: send it in X-API-Key, or as Authorization: Bearer <key>$/);
      const get = await fetch(`${server.url}/events?user_id=unauthorised`, { headers });
      assert.equal(get.status, 401);
      await errorMessage(get);
    }
    assert.equal(await (await server.get('user_id=unauthorised')).text(), '[]');
  });

  it('accepts the key only in X-API-Key or as Authorization: Bearer, never in the query string or another scheme', async () => {
    const inQuery = await fetch(`${server.url}/events?user_id=u&api_key=${TEST_API_KEY}`);
    assert.equal(inQuery.status, 401);
    const asBearer = await fetch(`${server.url}/events?user_id=u`, { headers: { Authorization: `Bearer ${TEST_API_KEY}` } });
    assert.equal(asBearer.status, 200);
    for (const authorization of [`Basic ${TEST_API_KEY}`, `Token ${TEST_API_KEY}`, TEST_API_KEY, `Bearer ${TEST_API_KEY} extra`, 'Bearer']) {
      const otherwise = await fetch(`${server.url}/events?user_id=u`, { headers: { Authorization: authorization } });
      assert.equal(otherwise.status, 401, authorization);
    }
    const twice = await fetch(`${server.url}/events?user_id=u`, {
      headers: [['X-API-Key', TEST_API_KEY], ['X-API-Key', TEST_API_KEY]],
    });
    assert.equal(twice.status, 401);
  });

  it('answers 404 for an unknown path, with or without a key', async () => {
    // `/` is the web viewer's page (viewer-files.test.ts).
    for (const path of ['/event', '/events/', '/EVENTS', '//events', '/index.html', '/ui']) {
      const response = await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': TEST_API_KEY } });
      assert.equal(response.status, 404, path);
      assert.match(await errorMessage(response), /No such endpoint/);
    }
  });

  it('answers 405 with an Allow header for other methods on /events', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(`${server.url}/events`, { method, headers: { 'X-API-Key': TEST_API_KEY } });
      assert.equal(response.status, 405);
      assert.equal(response.headers.get('allow'), 'GET, HEAD, POST');
      assert.match(await errorMessage(response), new RegExp(`${method} is not allowed`));
    }
  });

  it('logs one JSON line per request without the key, the query string or the body', async () => {
    log.lines.length = 0;
    const responses = [
      await server.post({ user_id: 'secret-user', event_type: 'secret-type', data: { secret: 'payload' } }),
      await server.get('user_id=secret-user'),
      await fetch(`${server.url}/events?user_id=x`, { headers: { 'X-API-Key': 'a-wrong-key-that-must-not-be-logged' } }),
    ];
    // Each line is written when its response closes, just after the client has it.
    for (const response of responses) await log.requestLine(response.headers.get('x-request-id')!);
    const entries = log.lines;
    assert.equal(entries.length, 3);
    assert.deepEqual(entries.map((e) => [e.method, e.path, e.status]), [['POST', '/events', 201], ['GET', '/events', 200], ['GET', '/events', 401]]);
    for (const entry of entries) assert.equal(typeof entry.duration_ms, 'number');
    const all = JSON.stringify(log.lines);
    for (const secret of [TEST_API_KEY, 'a-wrong-key', 'secret-user', 'secret-type', 'payload']) assert.ok(!all.includes(secret), secret);
  });
});

describe('requests Node refuses before any route sees them', () => {
  let server: TestServer;
  const logLines: string[] = [];
  before(async () => {
    server = await startTestServer({
      log: createJsonLogger((text) => logLines.push(...text.trimEnd().split('\n'))),
      serverLimits: { headersTimeoutMs: 300, requestTimeoutMs: 600, maxHeaderBytes: 16 * 1024 },
    });
  });
  after(() => server.close());

  const invalid = (reason: string): RegExp =>
    new RegExp(`^The request is not valid HTTP/1\\.1 \\(${reason}\\): check the request line, the headers and the framing of the body$`);
  const post = `POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\n`;
  // [what the client did, its bytes, whether it then stays silent, status, code, message]
  const cases: Array<[string, string, boolean, number, string, string | RegExp]> = [
    ['sends a request line that is not HTTP', 'NOT HTTP AT ALL\r\n\r\n', false, 400, 'HPE_INVALID_METHOD', invalid('Invalid method encountered')],
    ['names an HTTP version that does not exist', 'GET /events HTTP/9.9\r\nHost: x\r\n\r\n', false, 400, 'HPE_INVALID_VERSION', invalid('.+')],
    ['puts a space in the target', 'GET /events?user_id=a b HTTP/1.1\r\nHost: x\r\n\r\n', false, 400, 'HPE_INVALID_CONSTANT', invalid('.+')],
    ['sends a control character in a header value', 'GET /events HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n', false, 400, 'HPE_INVALID_HEADER_TOKEN', invalid('.+')],
    ['sends a Content-Length that is not a number', `${post}Content-Length: ten\r\n\r\n`, false, 400, 'HPE_INVALID_CONTENT_LENGTH', invalid('.+')],
    ['sends both Content-Length and Transfer-Encoding', `${post}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, false, 400, 'HPE_INVALID_TRANSFER_ENCODING', invalid('.+')],
    ['sends a chunk size that is not hexadecimal', `${post}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, false, 400, 'HPE_INVALID_CHUNK_SIZE', invalid('.+')],
    ['sends headers over 16 KiB', `GET /events HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, false, 431, 'HPE_HEADER_OVERFLOW',
      'The request line and headers are larger than 16 KiB: send fewer or shorter headers'],
    ['sends chunk extensions over 16 KiB', `${post}Transfer-Encoding: chunked\r\n\r\n1;${'a'.repeat(20_000)}\r\nx\r\n0\r\n\r\n`, false, 413, 'HPE_CHUNK_EXTENSIONS_OVERFLOW',
      'The chunk extensions of the body are too large: send the body without chunk extensions'],
    ['speaks HTTP/2 without TLS', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', false, 400, 'HPE_PAUSED_H2_UPGRADE', 'HTTP/2 is not served here: send HTTP/1.1'],
    ['hangs up halfway through its headers', 'GET /events HTTP/1.1\r\nHost: x\r\nX-Half: ', false, 400, 'HPE_INVALID_EOF_STATE',
      'The connection was closed before the request was complete'],
    ['sends no Host header in HTTP/1.1', 'GET /events?user_id=u HTTP/1.1\r\n\r\n', false, 400, 'MISSING_HOST', 'An HTTP/1.1 request needs a Host header'],
    ['expects something other than 100-continue', `${post}Expect: a-miracle\r\nContent-Length: 2\r\n\r\n`, false, 417, 'UNSUPPORTED_EXPECT',
      'The only Expect this service meets is 100-continue: send the request without that Expect header'],
    ['asks for a tunnel with CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', false, 400, 'CONNECT',
      'CONNECT is not served: this service is not a proxy'],
    ['sends its headers too slowly', 'GET /events?user_id=u HTTP/1.1\r\nHost: x\r\n', true, 408, 'ERR_HTTP_REQUEST_TIMEOUT',
      'The request did not arrive in time: send the request line and headers within 0.3 s, and the whole request within 0.6 s'],
    ['sends its body too slowly', `${post}Content-Length: 20\r\n\r\n{"user_id":`, true, 408, 'ERR_HTTP_REQUEST_TIMEOUT',
      'The request did not arrive in time: send the request line and headers within 0.3 s, and the whole request within 0.6 s'],
  ];
  for (const [what, bytes, silent, status, code, message] of cases) {
    it(`answers a client that ${what} with a JSON ${status} and logs one protocol error without request data`, async () => {
      logLines.length = 0;
      const answer = parseRawResponse(await rawExchange(server.url, bytes, { halfClose: !silent }));
      assert.match(answer.statusLine, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(answer.headers['cache-control'], 'no-store');
      assert.equal(answer.headers['x-content-type-options'], 'nosniff');
      assert.equal(answer.headers.connection, 'close');
      const body = JSON.parse(answer.body) as { message: string };
      assert.deepEqual(Object.keys(body), ['message']);
      if (typeof message === 'string') assert.equal(body.message, message);
      else assert.match(body.message, message);

      // Logged before the answer was written: the line is there now.
      const refusals = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'protocol error');
      assert.deepEqual(refusals.map(({ time, ...rest }) => [typeof time, rest]), [['string', { level: 'info', msg: 'protocol error', status, code }]]);
    });
  }

  it('answers a valid request before refusing a malformed one pipelined behind it', async () => {
    const text = await rawExchange(server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n');
    const first = parseRawResponse(text);
    assert.equal(first.statusLine, 'HTTP/1.1 200 OK');
    assert.deepEqual(JSON.parse(first.body), { status: 'ok' });
    const second = parseRawResponse(text.slice(text.indexOf(first.body) + first.body.length));
    assert.equal(second.statusLine, 'HTTP/1.1 400 Bad Request');
    assert.match((JSON.parse(second.body) as { message: string }).message, invalid('Invalid method encountered'));
  });

  it('passes an HTTP/1.0 request without Host to the routes, and keeps serving after every refusal', async () => {
    const answer = parseRawResponse(await rawExchange(server.url, 'GET /healthz HTTP/1.0\r\n\r\n'));
    assert.equal(answer.statusLine, 'HTTP/1.1 200 OK');
    assert.deepEqual(JSON.parse(answer.body), { status: 'ok' });
    assert.equal((await server.get('user_id=u')).status, 200);
  });
});
