import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { createRateLimiter, parseRateLimit } from '../../src/auth/rate-limiter.js';
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

  it('forgets the least recently used names past its size', () => {
    const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, maxNames: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c'); // 'a' is forgotten, and starts full again
    assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('c').allowed, false);
  });

  it('parses rate and rate:burst', () => {
    assert.deepEqual(parseRateLimit('100'), { ratePerSecond: 100, burst: 200 });
    assert.deepEqual(parseRateLimit('0.5:3'), { ratePerSecond: 0.5, burst: 3 });
    assert.deepEqual(parseRateLimit('0'), { ratePerSecond: 0, burst: 1 });
    for (const text of ['', 'x', '-1', '1:', ':2', '1:2:3']) assert.equal(parseRateLimit(text), undefined, text);
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

  it('slows an address that keeps failing to authenticate, even once it sends a right key', async () => {
    const server = await startTestServer({ limits: { failedAuth: createRateLimiter({ ratePerSecond: 0.1, burst: 3 }) } });
    try {
      const wrong = { 'X-API-Key': 'adt_wrong-key-0123456789' };
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await server.get('user_id=u', wrong)).status);
      assert.deepEqual(statuses, [401, 401, 401, 429]);
      const right = await server.get('user_id=u', { 'X-API-Key': TEST_API_KEY });
      assert.equal(right.status, 429);
      assert.equal(right.headers.get('retry-after'), '10');
      assert.match(await errorMessage(right), /Too many failed authentications from this address/);
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
