import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import type { StoredEvent } from '../../src/events/event.js';
import { captureLog } from '../helpers/capture-log.js';
import { fakeStore } from '../helpers/fake-store.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

type ApiEvent = { id: string; timestamp: string; user_id: string; event_type: string; data: Record<string, unknown> };

describe('analysts\' queries', () => {
  let server: TestServer;
  let all: ApiEvent[];

  async function getJson(query: string, headers: Record<string, string> = {}): Promise<{ events: ApiEvent[]; link: string | null }> {
    const response = await server.get(query, headers);
    assert.equal(response.status, 200, `${query}: ${response.status}`);
    return { events: (await response.json()) as ApiEvent[], link: response.headers.get('link') };
  }

  before(async () => {
    server = await startTestServer();
    for (let i = 0; i < 30; i++) {
      const response = await server.post({ user_id: 'ana', event_type: i % 3 === 0 ? 'login' : 'view', data: { i, limit: i % 2 } });
      assert.equal(response.status, 201);
      if (i % 10 === 9) await clockPasses(await lastTimestamp()); // three groups of ten, each in later milliseconds
    }
    all = (await getJson('user_id=ana')).events;
    assert.equal(all.length, 30);
  });
  after(() => server.close());

  async function lastTimestamp(): Promise<number> {
    return Date.parse((await getJson('user_id=ana&order=desc&limit=1')).events[0]!.timestamp);
  }
  /** Resolves once the clock shows a later millisecond than `ms`: a turn or two of the event loop. */
  async function clockPasses(ms: number): Promise<void> {
    while (Date.now() <= ms) await nextTurn();
  }

  const ids = (events: ApiEvent[]) => events.map((e) => e.id);

  it('answers newest first with order=desc', async () => {
    assert.deepEqual(ids((await getJson('user_id=ana&order=desc')).events), ids(all).reverse());
  });

  it('bounds by time: since inclusive, until exclusive', async () => {
    const pivot = all[12]!.timestamp;
    const later = all[25]!.timestamp;
    const since = (await getJson(`user_id=ana&since=${pivot}`)).events;
    assert.deepEqual(ids(since), ids(all.filter((e) => e.timestamp >= pivot)));
    assert.ok(since.some((e) => e.timestamp === pivot));
    const until = (await getJson(`user_id=ana&until=${pivot}`)).events;
    assert.deepEqual(ids(until), ids(all.filter((e) => e.timestamp < pivot)));
    const between = (await getJson(`user_id=ana&since=${pivot}&until=${later}&order=desc`)).events;
    assert.deepEqual(ids(between), ids(all.filter((e) => e.timestamp >= pivot && e.timestamp < later)).reverse());
    // The same instant written with an offset means the same thing.
    const ms = Date.parse(pivot);
    const offset = new Date(ms + 3600_000).toISOString().replace('Z', '+01:00');
    assert.deepEqual(ids((await getJson(`user_id=ana&since=${encodeURIComponent(offset)}`)).events), ids(since));
  });

  it('pages with limit and Link rel="next", with nothing skipped or repeated while events are written', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const seen: ApiEvent[] = [];
      let query: string | undefined = `user_id=ana&limit=7&order=${order}`;
      let pages = 0;
      let written = 0;
      while (query !== undefined) {
        const page = await getJson(query);
        assert.ok(page.events.length <= 7);
        seen.push(...page.events);
        pages++;
        // New events arrive between pages.
        assert.equal((await server.post({ user_id: 'ana', event_type: 'during-walk', data: { order, written: written++ } })).status, 201);
        if (page.link === null) break;
        const match = /^<\/events\?([^>]+)>; rel="next"$/.exec(page.link);
        assert.ok(match, page.link);
        query = match[1];
      }
      assert.equal(new Set(ids(seen)).size, seen.length, `${order}: an event was repeated`);
      const original = order === 'asc' ? ids(all) : ids(all).reverse();
      assert.deepEqual(ids(seen).filter((id) => original.includes(id)), original, `${order}: an event was skipped or misordered`);
      if (order === 'asc') {
        // Events written during an ascending walk come after it started, so the walk reaches them.
        assert.ok(seen.some((e) => e.event_type === 'during-walk'));
        const order = ids(seen);
        assert.deepEqual(order, [...order].sort());
      } else {
        const writtenDuring = seen.filter((e) => e.event_type === 'during-walk' && e.data.order === 'desc');
        assert.deepEqual(writtenDuring, [], 'a descending walk starts at the newest and moves back');
      }
      assert.ok(pages >= 5);
    }
  });

  it('combines every parameter in one page walk', async () => {
    const since = all[4]!.timestamp;
    const until = all[27]!.timestamp;
    const expected = all
      .filter((e) => e.event_type === 'view' && e.data.limit === 0 && e.timestamp >= since && e.timestamp < until)
      .reverse();
    assert.ok(expected.length > 4);
    const seen: ApiEvent[] = [];
    let query: string | undefined = `user_id=ana&event_type=view&data.limit=0&since=${since}&until=${until}&order=desc&limit=3`;
    while (query !== undefined) {
      const page = await getJson(query);
      seen.push(...page.events);
      query = page.link === null ? undefined : /^<\/events\?([^>]+)>/.exec(page.link)![1];
    }
    assert.deepEqual(ids(seen), ids(expected));
  });

  it('sends no Link when the page holds every remaining match', async () => {
    const exact = await getJson('user_id=ana&event_type=login&limit=10');
    assert.equal(exact.events.length, 10);
    assert.equal(exact.link, null);
    const more = await getJson('user_id=ana&event_type=login&limit=9');
    assert.equal(more.events.length, 9);
    assert.match(more.link!, /rel="next"/);
    const rest = await getJson(/^<\/events\?([^>]+)>/.exec(more.link!)![1]!);
    assert.equal(rest.events.length, 1);
    assert.equal(rest.link, null);
  });

  it('filters data fields named like reserved parameters through data.<name>', async () => {
    const events = (await getJson('user_id=ana&data.limit=1&event_type=login')).events;
    assert.deepEqual(ids(events), ids(all.filter((e) => e.data.limit === 1 && e.event_type === 'login')));
    assert.ok(events.length > 0);
  });

  it('streams NDJSON, one event per line', async () => {
    // until is exclusive: one millisecond after the last event takes it in, wherever in its second it fell.
    const justAfterLast = new Date(Date.parse(all[29]!.timestamp) + 1).toISOString();
    const response = await server.get(`user_id=ana&until=${justAfterLast}`, { Accept: 'application/x-ndjson' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
    const text = await response.text();
    assert.ok(text.endsWith('\n'));
    const events = text.trimEnd().split('\n').map((line) => JSON.parse(line) as ApiEvent);
    assert.deepEqual(events.slice(0, 30), all);
  });

  it('answers NDJSON to application/ndjson and application/jsonl too, under the name asked for', async () => {
    const expected = (await (await server.get('user_id=ana', { Accept: 'application/x-ndjson' })).text());
    assert.ok(expected.split('\n').length > 30, 'the NDJSON compared holds the events');
    for (const name of ['application/ndjson', 'application/jsonl']) {
      const response = await server.get('user_id=ana', { Accept: `${name}, application/json;q=0.5` });
      assert.equal(response.status, 200, name);
      assert.equal(response.headers.get('content-type'), `${name}; charset=utf-8`);
      assert.equal(await response.text(), expected, name);
    }
  });

  it('exports RFC 4180 CSV that a CSV parser reads back, with formula cells neutralised', async () => {
    const tricky = { user_id: '=HYPERLINK("http://x","y")', event_type: 'a,b "quoted"\nnext line' };
    const body = `{"user_id":${JSON.stringify(tricky.user_id)},"event_type":${JSON.stringify(tricky.event_type)},"data":{"note":"@SUM(A1)","n":1.50}}`;
    assert.equal((await server.post(body)).status, 201);
    const response = await server.get(`user_id=${encodeURIComponent(tricky.user_id)}`, { Accept: 'text/csv' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/csv; charset=utf-8; header=present');
    const text = await response.text();
    assert.ok(text.includes('\r\n'));
    const rows = parseCsv(text) as string[][];
    assert.deepEqual(rows[0], ['id', 'timestamp', 'user_id', 'event_type', 'data']);
    assert.equal(rows.length, 2);
    const [id, timestamp, userId, eventType, data] = rows[1]!;
    assert.match(id!, /^[0-9a-f-]{36}$/);
    assert.match(timestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(userId, `'${tricky.user_id}`);
    assert.equal(eventType, tricky.event_type);
    assert.equal(data, '{"note":"@SUM(A1)","n":1.50}');

    const ana = parseCsv(await (await server.get('user_id=ana&limit=30', { Accept: 'text/csv' })).text(), { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(ana.map((row) => row.id), ids(all));
    assert.deepEqual(ana.map((row) => JSON.parse(row.data!)), all.map((e) => e.data));
  });

  it('answers 406 to an Accept it cannot satisfy, and JSON by default', async () => {
    const refused = await server.get('user_id=ana', { Accept: 'text/html' });
    assert.equal(refused.status, 406);
    assert.match(await errorMessage(refused), /available: application\/json/);
    const json = await server.get('user_id=ana&limit=1', { Accept: 'text/html, */*;q=0.1' });
    assert.equal(json.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(json.headers.get('vary'), 'Accept');
  });

  it('returns one event by id at GET /events/{id}, the Location of its POST', async () => {
    const posted = await server.post('{"user_id":"by-id","event_type":"t","data":{"n":1.50,"big":12345678901234567890}}');
    const location = posted.headers.get('location')!;
    const { id } = (await posted.json()) as { id: string };
    assert.equal(location, `/events/${id}`);
    const response = await fetch(`${server.url}${location}`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    const text = await response.text();
    assert.ok(text.includes('"data":{"n":1.50,"big":12345678901234567890}'), text);
    const event = JSON.parse(text) as ApiEvent;
    assert.deepEqual(Object.keys(event), ['id', 'timestamp', 'user_id', 'event_type', 'data']);
    assert.equal(event.id, id);
    assert.equal(event.user_id, 'by-id');
  });

  it('answers 404 for an unknown or malformed id, 401 without a key, 405 for other methods', async () => {
    const get = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, { ...init, headers: { 'X-API-Key': TEST_API_KEY, ...init.headers } });
    for (const path of ['/events/0190a000-0000-7000-8000-000000000000', '/events/nope', '/events/%E0%A4%A', '/events/a/b']) {
      const response = await get(path);
      assert.equal(response.status, 404, path);
      await errorMessage(response);
    }
    assert.equal((await fetch(`${server.url}/events/${all[0]!.id}`)).status, 401);
    const post = await get(`/events/${all[0]!.id}`, { method: 'DELETE' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });
});

describe('streaming', () => {
  it('keeps accepting writes while a client reads a large answer slowly', async () => {
    const server = await startTestServer();
    try {
      const bodies = Array.from({ length: 1500 }, (_, i) => server.post({ user_id: 'big', event_type: 't', data: { i, pad: 'x'.repeat(100) } }));
      for (const response of await Promise.all(bodies)) assert.equal(response.status, 201);
      const response = await server.get('user_id=big');
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = decoder.decode((await reader.read()).value, { stream: true }); // started; now the client pauses
      const writes = await Promise.all(Array.from({ length: 50 }, (_, i) => server.post({ user_id: 'other', event_type: 't', data: { i } })));
      assert.deepEqual(writes.map((r) => r.status), Array(50).fill(201));
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      const events = JSON.parse(text) as Array<{ data: { i: number } }>;
      assert.deepEqual(events.map((e) => e.data.i).sort((a, b) => a - b), Array.from({ length: 1500 }, (_, i) => i));
    } finally {
      await server.close();
    }
  });

  it('waits for a slow client many times over without piling up listeners', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    const store = fakeStore({
      async *query() {
        for (let chunk = 0; chunk < 100; chunk++) {
          yield Array.from({ length: 100 }, (_, i): StoredEvent => ({
            id: `0190a000-0000-7000-8000-${String(chunk * 100 + i).padStart(12, '0')}`, timestampMs: 0, seq: chunk * 100 + i,
            userId: 'slow', eventType: 't', dataJson: `{"pad":"${'x'.repeat(500)}"}`,
          }));
        }
      },
    });
    const server = await startTestServer({ store });
    try {
      const reader = (await server.get('user_id=slow')).body!.getReader();
      let bytes = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        // Slower than the server writes, so that it has to wait for the socket to drain: the
        // slowness is what is tested here, not a wait for something to happen.
        await sleep(1);
      }
      assert.ok(bytes > 5_000_000);
      await nextTurn(); // a warning is emitted on the next tick after its cause
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
      await server.close();
    }
  });

  it('stops reading the query when the client disconnects mid-stream', { timeout: 10_000 }, async () => {
    let chunksRead = 0;
    let stopped!: () => void;
    const finished = new Promise<void>((resolve) => (stopped = resolve));
    const event = (i: number): StoredEvent => ({
      id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`, timestampMs: i, seq: i,
      userId: 'endless', eventType: 't', dataJson: `{"pad":"${'x'.repeat(200)}"}`,
    });
    const store = fakeStore({
      async *query() {
        try {
          for (let chunk = 0; ; chunk++) {
            chunksRead++;
            yield Array.from({ length: 100 }, (_, i) => event(chunk * 100 + i));
            await nextTurn();
          }
        } finally {
          stopped();
        }
      },
    });
    const log = captureLog();
    const server = await startTestServer({ store, log: log.logger });
    try {
      const controller = new AbortController();
      const response = await server.get('user_id=endless', { 'X-Request-Id': 'endless' }, controller.signal);
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      let received = 0;
      while (received < 200_000) received += (await reader.read()).value?.length ?? 0;
      controller.abort();
      await finished; // the query was stopped (one that goes on reading fails the test at its timeout)
      const readAtStop = chunksRead;
      const line = await log.requestLine('endless'); // written once the response has closed
      assert.equal(line.aborted, true);
      assert.equal(chunksRead, readAtStop, 'no chunk is read after the stop');
      assert.ok(chunksRead < 200, `read ${chunksRead} chunks for a client that took ~10`);
    } finally {
      await server.close();
    }
  });
});
