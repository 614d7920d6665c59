import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { StoredEvent } from '../../src/events/event.js';
import { generateKey, hashKey, writeKeysFile } from '../../src/auth/keys-file.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { createMetricsServer } from '../../src/ops/metrics-server.js';
import { silentLogger } from '../../src/ops/logger.js';
import { parseRawResponse, rawExchange } from '../helpers/raw-http.js';
import { captureLog } from '../helpers/capture-log.js';
import { fakeStore } from '../helpers/fake-store.js';
import { startTestServer, TEST_API_KEY } from '../helpers/test-server.js';

type Family = { name: string; type: string; metrics: Array<{ labels?: Record<string, string>; value?: string; count?: string; sum?: string; buckets?: Record<string, string> }> };
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

const storedEvent = (i: number): StoredEvent => ({
  id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`, timestampMs: i, seq: i,
  userId: 'endless', eventType: 't', dataJson: `{"pad":"${'x'.repeat(200)}"}`,
});

/** An export that never ends: only the client's leaving, or its being cut off, stops it. */
const endlessStore = () => fakeStore({
  async *query() {
    for (let chunk = 0; ; chunk++) {
      yield Array.from({ length: 100 }, (_, i) => storedEvent(chunk * 100 + i));
      await nextTurn();
    }
  },
});

describe('GET /metrics', () => {
  it('serves the Prometheus text format that a parser reads: requests, latency, ingest, batches, database, process', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'auditor-metrics-'));
    const readKey = generateKey();
    const keysFile = join(dir, 'keys.json');
    writeKeysFile(keysFile, [{ name: 'reader', scope: 'read', sha256: hashKey(readKey), createdAt: new Date().toISOString() }]);
    const metrics = createMetrics();
    const instrumented = await startTestServer({ keysFile, metrics });
    try {
      // One after the other, so each POST is a transaction of its own: 1, 1, 1 and 2 events.
      const keyed = await instrumented.post({ user_id: 'm', event_type: 't' }, { 'Idempotency-Key': 'metrics-replay' });
      assert.equal(keyed.status, 201);
      for (let i = 0; i < 2; i++) assert.equal((await instrumented.post({ user_id: 'm', event_type: 't' })).status, 201);
      assert.equal((await fetch(`${instrumented.url}/events/batch`, {
        method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
        body: '[{"user_id":"m","event_type":"a"},{"user_id":"m","event_type":"b"}]',
      })).status, 201);
      // A retry is answered from its key's record and writes nothing.
      const replayed = await instrumented.post({ user_id: 'm', event_type: 't' }, { 'Idempotency-Key': 'metrics-replay' });
      assert.deepEqual([replayed.status, replayed.headers.get('idempotent-replayed')], [201, 'true']);
      assert.equal(((await replayed.json()) as { id: string }).id, ((await keyed.json()) as { id: string }).id);
      assert.equal((await instrumented.get('user_id=m')).status, 200);
      assert.equal((await instrumented.get('limit=0')).status, 400);

      assert.equal((await fetch(`${instrumented.url}/metrics`)).status, 401);
      assert.equal((await fetch(`${instrumented.url}/metrics`, { headers: { 'X-API-Key': readKey } })).status, 403);
      const response = await fetch(`${instrumented.url}/metrics`, { headers: { 'X-API-Key': TEST_API_KEY } });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      const families = new Map(parsePrometheus(text).map((family) => [family.name, family]));

      const requests = families.get('auditor_http_requests_total')!;
      assert.equal(requests.type, 'COUNTER');
      const count = (route: string, method: string, status: string) =>
        Number(requests.metrics.find((m) => m.labels?.route === route && m.labels.method === method && m.labels.status === status)?.value ?? 0);
      assert.equal(count('/events', 'POST', '201'), 4);
      assert.equal(count('/events/batch', 'POST', '201'), 1);
      assert.equal(count('/events', 'GET', '200'), 1);
      assert.equal(count('/events', 'GET', '400'), 1);
      assert.equal(count('/metrics', 'GET', '401'), 1);

      assert.equal(families.get('auditor_http_request_duration_seconds')!.type, 'HISTOGRAM');
      // The parser flattens labelled histograms, so their counts are read from the text itself.
      assert.match(text, /^auditor_http_request_duration_seconds_count\{route="\/events",method="POST"\} 4$/m);
      assert.equal(families.get('auditor_events_ingested_total')!.metrics[0]!.value, '5');
      const transactions = families.get('auditor_commit_batch_events')!;
      assert.equal(transactions.type, 'HISTOGRAM');
      assert.deepEqual([transactions.metrics[0]!.count, transactions.metrics[0]!.sum], ['4', '5'],
        'one observation per committed transaction, of the events it wrote: the replay wrote none');
      assert.ok(families.has('process_cpu_user_seconds_total') && families.has('nodejs_eventloop_lag_seconds'));
      // prom-client's gauges named like counters, which promtool refuses, are gone; their by-type gauges stay.
      assert.deepEqual(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'].filter((name) => families.has(name)), []);
      assert.equal(families.get('nodejs_active_handles')!.type, 'GAUGE');
    } finally {
      await instrumented.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts the requests refused before any route, by status and code, apart from the requests routed', async () => {
    const metrics = createMetrics();
    const server = await startTestServer({ metrics });
    try {
      for (const bytes of ['NOT HTTP\r\n\r\n', 'NOT HTTP EITHER\r\n\r\n', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 'GET /readyz HTTP/1.1\r\n\r\n']) {
        assert.match(await rawExchange(server.url, bytes), /^HTTP\/1\.1 4\d\d /);
      }
      const response = await fetch(`${server.url}/metrics`, { headers: { 'X-API-Key': TEST_API_KEY } });
      assert.equal(response.status, 200);
      const families = new Map(parsePrometheus(await response.text()).map((family) => [family.name, family]));
      const refused = families.get('auditor_http_protocol_errors_total')!;
      assert.equal(refused.type, 'COUNTER');
      assert.deepEqual(
        Object.fromEntries(refused.metrics.map((m) => [`${m.labels!.status} ${m.labels!.code}`, m.value])),
        { '400 HPE_INVALID_METHOD': '2', '400 MISSING_HOST': '1', '431 HPE_HEADER_OVERFLOW': '1' },
      );
      // Refused requests never reached a route; the scrape itself is counted once it has answered.
      assert.deepEqual(families.get('auditor_http_requests_total')?.metrics ?? [], []);
    } finally {
      await server.close();
    }
  });

  it('counts a request whose client left before any answer as 499, not 200', async () => {
    const metrics = createMetrics();
    const log = captureLog();
    const server = await startTestServer({ metrics, log: log.logger });
    try {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      await once(socket, 'connect');
      // Half a body, then gone: no answer can be sent.
      socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nX-Request-Id: left-early\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"user_id":`);
      socket.destroy();
      const line = await log.requestLine('left-early');
      assert.deepEqual([line.status, line.aborted], [null, true]);
      const text = await metrics.registry.metrics();
      assert.match(text, /^auditor_http_requests_total\{route="\/events",method="POST",status="499"\} 1$/m);
      assert.doesNotMatch(text, /status="200"/);
    } finally {
      await server.close();
    }
  });

  it('counts a refusal its client read and then hung up on, its body unsent, under the status it was sent', async () => {
    const metrics = createMetrics();
    const log = captureLog();
    const server = await startTestServer({ metrics, log: log.logger, maxBodyBytes: 1024 });
    try {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      await once(socket, 'connect');
      // A body declared over the limit is refused before it is read; the client reads the whole
      // answer (its Content-Length says when) and leaves without sending the rest.
      socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nX-Request-Id: refused-then-gone\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"user_id":`);
      let answer = '';
      socket.setEncoding('utf8');
      for await (const chunk of socket) {
        answer += chunk as string;
        if (!answer.includes('\r\n\r\n')) continue;
        const response = parseRawResponse(answer);
        if (Buffer.byteLength(response.body) >= Number(response.headers['content-length'] ?? Infinity)) break; // leaves: destroys the socket
      }
      const refusal = parseRawResponse(answer);
      assert.deepEqual([refusal.statusLine, refusal.headers['content-type'], JSON.parse(refusal.body)],
        ['HTTP/1.1 413 Payload Too Large', 'application/json; charset=utf-8', { message: 'Request body is larger than the limit of 1024 bytes' }]);
      assert.equal((await log.requestLine('refused-then-gone')).status, 413);
      const text = await metrics.registry.metrics();
      assert.match(text, /^auditor_http_requests_total\{route="\/events",method="POST",status="413"\} 1$/m);
      assert.doesNotMatch(text, /status="499"/);
    } finally {
      await server.close();
    }
  });

  it('counts a streamed answer whose client left after its headers as 499, not as the 200 it began with', async () => {
    const metrics = createMetrics();
    const log = captureLog();
    const server = await startTestServer({ store: endlessStore(), metrics, log: log.logger });
    try {
      const controller = new AbortController();
      const response = await server.get('user_id=endless', { 'X-Request-Id': 'left-mid-stream' }, controller.signal);
      assert.deepEqual([response.status, response.headers.get('content-type')], [200, 'application/json; charset=utf-8']);
      const reader = response.body!.getReader();
      let received = 0;
      while (received < 100_000) received += (await reader.read()).value?.length ?? 0;
      controller.abort();
      const line = await log.requestLine('left-mid-stream');
      assert.deepEqual([line.status, line.aborted], [200, true], 'the log line keeps the status sent, and says it was cut');
      const text = await metrics.registry.metrics();
      assert.match(text, /^auditor_http_requests_total\{route="\/events",method="GET",status="499"\} 1$/m);
      assert.doesNotMatch(text, /status="200"/);
    } finally {
      await server.close();
    }
  });

  it('counts a streamed answer cut off because its client stopped reading as 499, not as the 200 it began with', async () => {
    const metrics = createMetrics();
    const log = captureLog();
    const server = await startTestServer({ store: endlessStore(), metrics, log: log.logger, stalledClientMs: 100 });
    try {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      socket.on('error', () => {}); // the cut may reach this side as a reset
      socket.write(`GET /events?user_id=endless HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nX-Request-Id: stopped-reading\r\n\r\n`);
      await once(socket, 'data');
      socket.pause(); // reads nothing more: the service's writes back up until it gives up
      await log.waitFor((line) => line.msg === 'client stopped reading; connection cut');
      const line = await log.requestLine('stopped-reading');
      assert.deepEqual([line.status, line.aborted], [200, true]);
      socket.destroy();
      const text = await metrics.registry.metrics();
      assert.match(text, /^auditor_http_requests_total\{route="\/events",method="GET",status="499"\} 1$/m);
      assert.doesNotMatch(text, /status="(200|500)"/);
    } finally {
      await server.close();
    }
  });

  it('counts a streamed answer the service cut because it failed as 500, not as the 200 it began with', async () => {
    const store = fakeStore({
      async *query() {
        yield [storedEvent(1)];
        await nextTurn();
        throw new Error('the database went away mid-export');
      },
    });
    const metrics = createMetrics();
    const log = captureLog();
    const server = await startTestServer({ store, metrics, log: log.logger });
    try {
      // Uncoded, so the headers and the first event leave before the failure (an encoder may hold them).
      const response = await server.get('user_id=endless', { 'X-Request-Id': 'cut-by-us', 'Accept-Encoding': 'identity' });
      assert.deepEqual([response.status, response.headers.get('content-type')], [200, 'application/json; charset=utf-8']);
      await assert.rejects(response.text(), TypeError, 'the client sees the answer cut, not a whole one');
      const line = await log.requestLine('cut-by-us');
      assert.deepEqual([line.status, line.aborted], [200, true]);
      assert.match(String((await log.waitFor((entry) => entry.msg === 'stream failed')).error), /the database went away mid-export/);
      const text = await metrics.registry.metrics();
      assert.match(text, /^auditor_http_requests_total\{route="\/events",method="GET",status="500"\} 1$/m);
      assert.doesNotMatch(text, /status="(200|499)"/);
    } finally {
      await server.close();
    }
  });

  it('counts the database size on disk', async () => {
    const server = await startTestServer();
    try {
      const metrics = createMetrics({ databaseBytes: () => server.store.sizeBytes() });
      await server.post({ user_id: 'size', event_type: 't' });
      const family = parsePrometheus(await metrics.registry.metrics()).find((f) => f.name === 'auditor_database_bytes')!;
      assert.ok(Number(family.metrics[0]!.value) > 4096);
    } finally {
      await server.close();
    }
  });

  it('can be served alone on a port of its own, without a key', async () => {
    const metrics = createMetrics();
    metrics.eventsIngested(7);
    const server = createMetricsServer(metrics, silentLogger);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const response = await fetch(`${url}/metrics`);
      assert.equal(response.status, 200);
      const ingested = parsePrometheus(await response.text()).find((f) => f.name === 'auditor_events_ingested_total')!;
      assert.equal(ingested.metrics[0]!.value, '7');
      const unreadable = parseRawResponse(await rawExchange(url, 'NOT HTTP\r\n\r\n'));
      assert.deepEqual([unreadable.statusLine, unreadable.headers['content-type']], ['HTTP/1.1 400 Bad Request', 'application/json; charset=utf-8']);
      assert.match(await metrics.registry.metrics(), /^auditor_http_protocol_errors_total\{status="400",code="HPE_INVALID_METHOD"\} 1$/m);
    } finally {
      server.close();
    }
  });

  it('answers any other path or method there as the main port does: JSON 404 or 405 with Allow, a request id, a log line, a count', async () => {
    const metrics = createMetrics();
    const log = captureLog();
    const server = createMetricsServer(metrics, log.logger);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const other = await fetch(`${url}/events?user_id=x`, { headers: { 'X-Request-Id': 'scrape-404' } });
      assert.equal(other.status, 404);
      assert.deepEqual(
        [other.headers.get('content-type'), other.headers.get('cache-control'), other.headers.get('x-content-type-options'), other.headers.get('x-request-id')],
        ['application/json; charset=utf-8', 'no-store', 'nosniff', 'scrape-404'],
      );
      assert.deepEqual(await other.json(), { message: 'No such endpoint: /events' });

      const posted = await fetch(`${url}/metrics`, { method: 'POST', headers: { 'X-Request-Id': 'scrape-405' } });
      assert.equal(posted.status, 405);
      assert.deepEqual(
        [posted.headers.get('content-type'), posted.headers.get('allow'), posted.headers.get('x-request-id')],
        ['application/json; charset=utf-8', 'GET, HEAD', 'scrape-405'],
      );
      assert.deepEqual(await posted.json(), { message: 'POST is not allowed on /metrics; use GET, HEAD' });

      const scraped = await fetch(`${url}/metrics`);
      assert.equal(scraped.status, 200);
      assert.equal(scraped.headers.get('cache-control'), 'no-store');
      assert.match(scraped.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
      await scraped.text();

      const lines = [await log.requestLine('scrape-404'), await log.requestLine('scrape-405')];
      assert.deepEqual(lines.map((line) => [line.method, line.path, line.status]), [['GET', '/events', 404], ['POST', '/metrics', 405]]);
      const text = await metrics.registry.metrics();
      assert.match(text, /^auditor_http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
      assert.match(text, /^auditor_http_requests_total\{route="\/metrics",method="POST",status="405"\} 1$/m);
    } finally {
      server.close();
    }
  });
});
