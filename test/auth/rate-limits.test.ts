import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { createRateLimiter, parseRateLimit } from '../../src/auth/rate-limiter.js';
import { parseTrustedProxies } from '../../src/auth/trusted-proxies.js';
import { captureLog } from '../helpers/capture-log.js';
import { errorMessage, startTestServer, TEST_API_KEY } from '../helpers/test-server.js';

describe('createRateLimiter', () => {
  it('allows a burst, then the rate, and says when to retry', () => {
    let clock = 0;
    const limiter = createRateLimiter({ ratePerSecond: 2, burst: 3, now: () => clock });
    assert.deepEqual([1, 2, 3].map(() => limiter.take('a').allowed), [true, true, true]);
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 1 });
    assert.equal(limiter.take('b').allowed, true, 'each name has its own bucket');
    clock = 500; // half a second: one token back
    assert.equal(limiter.wait('a'), 0);
    assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('a').allowed, false);
    clock = 10_000;
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a').allowed), [true, true, true, false], 'never more than the burst');
  });

  it('says to retry in whole seconds, rounded up from the part of a token still missing', () => {
    let clock = 0;
    const limiter = createRateLimiter({ ratePerSecond: 0.3, burst: 1, now: () => clock });
    assert.equal(limiter.take('a').allowed, true);
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 4 }, 'a whole token at 0.3 a second: 3.3 s');
    clock = 1000;
    assert.equal(limiter.wait('a'), 3, '0.7 of a token: 2.3 s');
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 3 });
  });

  it('forgets the least recently used names past its size', () => {
    const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, maxNames: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c'); // 'a' is forgotten, and starts full again
    assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('c').allowed, false);
  });

  it('keeps a name it has just seen again, forgetting the one used longest ago instead', () => {
    const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, maxNames: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('b');
    assert.equal(limiter.wait('a'), 1); // 'a' is the most recently used now
    limiter.take('c'); // 'b' is forgotten
    assert.deepEqual([limiter.take('a').allowed, limiter.take('b').allowed], [false, true]);
  });

  it('remembers 100 000 names when not told how many, and forgets the oldest past that', () => {
    const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, now: () => 0 });
    for (let i = 0; i < 100_000; i++) limiter.take(`10.0.${i}`);
    assert.equal(limiter.take('10.0.0').allowed, false, 'the first of 100 000 names is still remembered');
    limiter.take('one more'); // the 100 001st name: '10.0.1' is forgotten
    assert.deepEqual([limiter.take('10.0.1').allowed, limiter.take('10.0.99999').allowed], [true, false]);
  });

  it('parses rate and rate:burst', () => {
    assert.deepEqual(parseRateLimit('100'), { ratePerSecond: 100, burst: 200 });
    assert.deepEqual(parseRateLimit('0.5:3'), { ratePerSecond: 0.5, burst: 3 });
    assert.deepEqual(parseRateLimit(' 5:1 '), { ratePerSecond: 5, burst: 1 });
    assert.deepEqual(parseRateLimit('0.75'), { ratePerSecond: 0.75, burst: 2 }, 'twice the rate, rounded up');
    assert.deepEqual(parseRateLimit('0'), { ratePerSecond: 0, burst: 1 });
    assert.deepEqual(parseRateLimit('0:0'), { ratePerSecond: 0, burst: 0 }, 'no limit, whatever the burst');
    for (const text of ['', 'x', '-1', '1:', ':2', '1:2:3', '5:0', '1.:2', '.5', '1x5', '1 : 2']) assert.equal(parseRateLimit(text), undefined, text);
  });
});

describe('limits over HTTP', () => {
  it('answers 429 with Retry-After to a key over its rate', async () => {
    const server = await startTestServer({ limits: { perKey: createRateLimiter({ ratePerSecond: 1, burst: 3 }) } });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await server.get('user_id=u')).status);
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      const limited = await server.get('user_id=u');
      assert.equal(limited.headers.get('retry-after'), '1');
      assert.match(await errorMessage(limited), /Too many requests with the key "AUDITOR_API_KEY"; retry in 1 s/);
    } finally {
      await server.close();
    }
  });

  it('answers 429 only to failing requests over the budget, and serves a valid key from the same address', async () => {
    // A clock that stands still: however slowly the requests go, none is refilled, so the wait is 10 s.
    const server = await startTestServer({ limits: { failedAuth: createRateLimiter({ ratePerSecond: 0.1, burst: 3, now: () => 0 }) } });
    try {
      const wrong = { 'X-API-Key': 'adt_wrong-key-0123456789' };
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await server.get('user_id=u', wrong)).status);
      assert.deepEqual(statuses, [401, 401, 401, 429]);

      const posted = await server.post({ user_id: 'u', event_type: 'after-failures' });
      assert.equal(posted.status, 201);
      assert.match(((await posted.json()) as { id: string }).id, /^[0-9a-f-]{36}$/);
      const read = await server.get('user_id=u');
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual(((await read.json()) as Array<{ event_type: string }>).map((event) => event.event_type), ['after-failures']);

      for (const headers of [wrong, { 'X-API-Key': '' }]) {
        const limited = await fetch(`${server.url}/events?user_id=u`, { headers });
        assert.equal(limited.status, 429);
        assert.equal(limited.headers.get('retry-after'), '10');
        assert.equal(await errorMessage(limited), 'Too many failed authentications from this address; retry in 10 s with a valid X-API-Key');
      }
    } finally {
      await server.close();
    }
  });

  it('counts failures per client behind a trusted proxy, and logs that client on each request line', async () => {
    const log = captureLog();
    const server = await startTestServer({
      limits: { failedAuth: createRateLimiter({ ratePerSecond: 0.1, burst: 2 }) },
      trustedProxies: parseTrustedProxies('127.0.0.1').ranges,
      log: log.logger,
    });
    try {
      const send = async (id: string, headers: Record<string, string>): Promise<{ status: number; client: unknown }> => {
        const response = await fetch(`${server.url}/events?user_id=u`, { headers: { 'X-Request-Id': id, ...headers } });
        await response.arrayBuffer();
        return { status: response.status, client: (await log.requestLine(id)).client };
      };
      const wrong = { 'X-API-Key': 'adt_wrong-key-0123456789' };
      assert.deepEqual(
        [
          await send('a1', { ...wrong, 'X-Forwarded-For': '198.51.100.1' }),
          await send('a2', { ...wrong, 'X-Forwarded-For': '198.51.100.1' }),
          await send('a3', { ...wrong, 'X-Forwarded-For': '198.51.100.1' }),
          await send('b1', { ...wrong, 'X-Forwarded-For': '198.51.100.1, 198.51.100.2' }),
          await send('c1', { ...wrong, Forwarded: 'for="[2001:db8::3]:4711"' }),
          await send('a4', { 'X-API-Key': TEST_API_KEY, 'X-Forwarded-For': '198.51.100.1' }),
          await send('p1', { ...wrong }),
        ],
        [
          { status: 401, client: '198.51.100.1' },
          { status: 401, client: '198.51.100.1' },
          { status: 429, client: '198.51.100.1' },
          { status: 401, client: '198.51.100.2' },
          { status: 401, client: '2001:db8::3' },
          { status: 200, client: '198.51.100.1' },
          { status: 401, client: '127.0.0.1' },
        ],
      );
      assert.ok(log.lines.every((line) => !JSON.stringify(line).includes(TEST_API_KEY)), 'no line holds the key');
    } finally {
      await server.close();
    }
  });

  it('ignores forwarding headers from a peer that is not a trusted proxy: a client cannot choose its bucket', async () => {
    const log = captureLog();
    const server = await startTestServer({ limits: { failedAuth: createRateLimiter({ ratePerSecond: 0.1, burst: 2 }) }, log: log.logger });
    try {
      const statuses = [];
      for (const [i, address] of ['198.51.100.1', '198.51.100.2', '198.51.100.3'].entries()) {
        const response = await fetch(`${server.url}/events?user_id=u`, {
          headers: { 'X-API-Key': 'adt_wrong-key-0123456789', 'X-Forwarded-For': address, Forwarded: `for=${address}`, 'X-Request-Id': `r${i}` },
        });
        statuses.push(response.status);
        await response.arrayBuffer();
        assert.equal((await log.requestLine(`r${i}`)).client, '127.0.0.1');
      }
      assert.deepEqual(statuses, [401, 401, 429]);
    } finally {
      await server.close();
    }
  });

  it('cuts off a client that sends its headers too slowly with a JSON 408', async () => {
    const server = await startTestServer({ serverLimits: { headersTimeoutMs: 300, requestTimeoutMs: 600, maxHeaderBytes: 16 * 1024 } });
    try {
      const { hostname, port } = new URL(server.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write('GET /events?user_id=u HTTP/1.1\r\nHost: x\r\n'));
        let text = '';
        socket.on('data', (chunk) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.match(answer, /\{"message":"The request did not arrive in time: send the request line and headers within 0\.3 s, and the whole request within 0\.6 s"\}$/);
    } finally {
      await server.close();
    }
  });

  it('refuses more than 100 query parameters with a 400', async () => {
    const server = await startTestServer();
    try {
      const many = Array.from({ length: 101 }, (_, i) => `f${i}=1`).join('&');
      const response = await server.get(`user_id=u&${many}`);
      assert.equal(response.status, 400);
      assert.match(await errorMessage(response), /At most 100 query parameters are accepted, not 102/);
    } finally {
      await server.close();
    }
  });
});
