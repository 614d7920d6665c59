import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { openStream, type StreamClient } from '../helpers/event-stream-client.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

const HEARTBEAT_MS = 200;

describe(`GET /events/stream (${TEST_BACKEND})`, () => {
  let server: TestServer;
  const clients: StreamClient[] = [];
  const stream = (query = ''): StreamClient => {
    const client = openStream(`${server.url}/events/stream${query === '' ? '' : `?${query}`}`, TEST_API_KEY);
    clients.push(client);
    return client;
  };
  const post = async (userId: string, eventType: string, data: unknown): Promise<{ id: string }> => {
    const response = await server.post({ user_id: userId, event_type: eventType, data });
    assert.equal(response.status, 201);
    return (await response.json()) as { id: string };
  };
  /** Once every stream's client has gone (each test begins with none open, as a key may hold only 3). */
  const allClosed = async (): Promise<void> => {
    for (let waited = 0; server.streams.count() > 0; waited += 20) {
      if (waited > 5000) throw new Error(`${server.streams.count()} streams still open`);
      await sleep(20);
    }
  };
  /** An open stream has read the log's head: what is posted from now on reaches it. */
  const opened = async (client: StreamClient): Promise<void> => {
    for (let waited = 0; client.opens() === 0; waited += 10) {
      if (waited > 5000) throw new Error('the stream did not open');
      await sleep(10);
    }
  };

  before(async () => {
    server = await startTestServer({ streams: { perKey: 3, heartbeatMs: HEARTBEAT_MS, pollMs: 50 }, stalledClientMs: 300 });
  });
  beforeEach(() => allClosed());
  after(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  it('sends each new matching event once, in commit order, as GET /events gives it, with a cursor as its id', async () => {
    await post('before', 'login', { n: 0 }); // before the stream: not sent
    const logins = stream('event_type=login&event_type=logout');
    const everything = stream();
    await Promise.all([opened(logins), opened(everything)]);
    const posted = [];
    for (let n = 1; n <= 6; n++) posted.push(await post(`u${n % 2}`, ['login', 'note', 'logout'][n % 3]!, { n, text: 'line\nbreak "quoted"' }));

    const all = await everything.waitFor(6);
    assert.deepEqual(all.map((event) => event.id), posted.map((event) => event.id));
    const matching = await logins.waitFor(4);
    assert.deepEqual(matching.map((event) => event.event_type), ['logout', 'login', 'logout', 'login']);
    // Each as GET /events/{id} answers it.
    const byId = (await (await fetch(`${server.url}/events/${all[2]!.id}`, { headers: { 'X-API-Key': TEST_API_KEY } })).json()) as Record<string, unknown>;
    const { cursor, ...streamed } = all[2]!;
    assert.ok(cursor.length > 0);
    assert.deepEqual(streamed, byId);
    await sleep(100);
    assert.equal(everything.received.length, 6, 'no event twice');
    logins.close();
    everything.close();
  });

  it('starts after `after`, replaying what came since, then goes on live', async () => {
    await post('replay', 'step', { n: 1 });
    const b = await post('replay', 'step', { n: 2 });
    const c = await post('replay', 'step', { n: 3 });
    const head = stream('user_id=replay');
    await opened(head);
    // The cursor of the first (a), from a page's Link.
    const link = (await server.get('user_id=replay&limit=1')).headers.get('link')!;
    const after = new URLSearchParams(/<\/events\?([^>]+)>/.exec(link)![1]).get('after')!;
    const replay = stream(`user_id=replay&after=${encodeURIComponent(after)}`);
    assert.deepEqual((await replay.waitFor(2)).map((event) => event.id), [b.id, c.id]);
    const d = await post('replay', 'step', { n: 4 });
    assert.deepEqual((await replay.waitFor(3)).map((event) => event.id), [b.id, c.id, d.id]);
    assert.deepEqual((await head.waitFor(1)).map((event) => event.id), [d.id]);
    replay.close();
    head.close();
  });

  it('keeps an idle stream open with heartbeat comments, and says when to reconnect', async () => {
    const response = await fetch(`${server.url}/events/stream?user_id=nobody`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('content-encoding'), null);
    const reader = response.body!.getReader();
    let text = '';
    const started = Date.now();
    while ((text.match(/: heartbeat\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /^retry: 1000\n/);
    assert.ok(Date.now() - started >= HEARTBEAT_MS, 'heartbeats come at the interval');
    await reader.cancel();
  });

  it('sends heartbeats to a stream whose filters match nothing while other events keep coming', async () => {
    const response = await fetch(`${server.url}/events/stream?user_id=quiet`, { headers: { 'X-API-Key': TEST_API_KEY } });
    const reader = response.body!.getReader();
    let posting = true;
    const noise = (async () => {
      for (let n = 0; posting; n++) await post('noisy', 't', { n });
    })();
    let text = '';
    while ((text.match(/: heartbeat\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    posting = false;
    await noise;
    await reader.cancel();
    assert.doesNotMatch(text, /^data:/m);
  });

  it('gives streams with the same filters the same messages, under the same ids', async () => {
    const copies = [stream('event_type=copy'), stream('event_type=copy'), stream('event_type=copy')];
    await Promise.all(copies.map(opened));
    const ids = [];
    for (let n = 0; n < 30; n++) ids.push((await post(`c${n % 3}`, 'copy', { n })).id);
    for (const copy of copies) {
      const received = await copy.waitFor(30);
      assert.deepEqual(received.map((event) => event.id), ids);
      assert.deepEqual(received.map((event) => event.cursor), copies[0]!.received.map((event) => event.cursor));
      copy.close();
    }
  });

  it('answers HEAD with the stream\'s headers and nothing more, holding no stream open', async () => {
    const head = await fetch(`${server.url}/events/stream`, { method: 'HEAD', headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    await allClosed();
  });

  it('refuses what it cannot stream with a 400 saying why, and a fourth stream of one key with a 429', async () => {
    for (const [query, headers, pattern] of [
      ['since=2026-01-01T00:00:00Z', {}, /since is not a parameter of \/events\/stream/],
      ['limit=5', {}, /limit is not a parameter of \/events\/stream/],
      ['order=desc', {}, /order is not a parameter/],
      ['after=not-a-cursor', {}, /after must be the id of a message of this service's stream/],
      ['', { 'Last-Event-ID': 'bogus' }, /Last-Event-ID must be the id of a message/],
      ['event_type=', {}, /event_type must not be empty/],
    ] as const) {
      const response = await fetch(`${server.url}/events/stream?${query}`, { headers: { 'X-API-Key': TEST_API_KEY, ...headers } });
      assert.equal(response.status, 400, query);
      assert.match(await errorMessage(response), pattern);
    }
    const held = await Promise.all([1, 2, 3].map(() => fetch(`${server.url}/events/stream`, { headers: { 'X-API-Key': TEST_API_KEY } })));
    assert.deepEqual(held.map((response) => response.status), [200, 200, 200]);
    const fourth = await fetch(`${server.url}/events/stream`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(fourth.status, 429);
    assert.match(await errorMessage(fourth), /as many streams open as it may \(AUDITOR_STREAMS_PER_KEY\)/);
    assert.equal(fourth.headers.get('retry-after'), '5');
    for (const response of held) await response.body!.cancel();
    // Their places are free again once their clients have gone.
    await allClosed();
    const again = await fetch(`${server.url}/events/stream`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(again.status, 200);
    await again.body!.cancel();
  });

  it('cuts off a client that stops reading, its last message saying why', async () => {
    // A raw socket that asks for the stream, then reads nothing while a few MB of events are written.
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /events/stream?user_id=flood HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\n\r\n`);
    socket.pause();
    while (server.streams.count() === 0) await sleep(10);
    const big = 'x'.repeat(60_000);
    for (let n = 0; n < 25; n++) {
      const batch = Array.from({ length: 10 }, (_, i) => ({ user_id: 'flood', event_type: 'big', data: { n, i, big } }));
      const response = await fetch(`${server.url}/events/batch`, {
        method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(batch),
      });
      assert.equal(response.status, 201);
    }
    // 15 MB written, more than the socket's buffers take: the stream stalls, then is cut.
    for (let waited = 0; server.streams.count() > 0; waited += 20) {
      if (waited > 10_000) throw new Error('the stalled stream was not cut off');
      await sleep(20);
    }
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /event: closed\ndata: \{"reason":"slow","message":"the client read too slowly: its stream was closed; reconnect with Last-Event-ID/);
    assert.ok(text.length < 15_000_000, 'it was cut before everything was written');
  });

  it('ends every stream at shutdown with a last message, which the client reconnects after', async () => {
    const client = stream('user_id=shutdown');
    await opened(client);
    await post('shutdown', 't', { n: 1 });
    await client.waitFor(1);
    server.streams.closeAll();
    for (let waited = 0; client.closings.length === 0; waited += 20) {
      if (waited > 5000) throw new Error('no closing message');
      await sleep(20);
    }
    assert.equal(client.closings[0]!.reason, 'shutdown');
    client.close();
  });
});

describe('GET /events/stream, two instances on one PostgreSQL database', { skip: TEST_BACKEND !== 'postgres' && 'PostgreSQL only: instances share a log only there' }, () => {
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    first = await startTestServer({ streams: { pollMs: 50 } });
    second = await startTestServer({ store: await first.database.openStore(), streams: { pollMs: 50 } });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  it('sends an event posted to either instance to the streams of both, once each, in commit order', async () => {
    const onFirst = openStream(`${first.url}/events/stream?user_id=shared`, TEST_API_KEY);
    const onSecond = openStream(`${second.url}/events/stream?user_id=shared`, TEST_API_KEY);
    try {
      while (onFirst.opens() === 0 || onSecond.opens() === 0) await sleep(10);
      const ids: string[] = [];
      for (let n = 0; n < 6; n++) {
        const response = await (n % 2 === 0 ? first : second).post({ user_id: 'shared', event_type: 't', data: { n } });
        assert.equal(response.status, 201);
        ids.push(((await response.json()) as { id: string }).id);
      }
      assert.deepEqual((await onFirst.waitFor(6)).map((event) => event.id), ids);
      assert.deepEqual((await onSecond.waitFor(6)).map((event) => event.id), ids);
      await sleep(200);
      assert.deepEqual([onFirst.received.length, onSecond.received.length], [6, 6]);
    } finally {
      onFirst.close();
      onSecond.close();
    }
  });
});
