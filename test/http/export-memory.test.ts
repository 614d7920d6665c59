import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV_KEY_NAME, generateKey, hashKey, writeKeysFile } from '../../src/auth/keys-file.js';
import { createMemoryBudget, type MemoryBudget } from '../../src/http/memory-budget.js';
import { ENCODER_BYTES } from '../../src/http/send-reply.js';
import type { NewEvent, StoredEvent } from '../../src/events/event.js';
import { CHUNK_ROWS, CHUNK_SIZE } from '../../src/store/read-in-chunks.js';
import { PAGE_SIZE } from '../../src/routes/get-events.js';
import { captureLog } from '../helpers/capture-log.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/** Stores `events` in batches small enough for one commit each. */
async function plant(server: TestServer, events: NewEvent[]): Promise<StoredEvent[]> {
  const stored: StoredEvent[] = [];
  for (let i = 0; i < events.length; i += 10) stored.push(...(await server.store.appendAll(events.slice(i, i + 10))));
  return stored;
}

const sizeOf = (event: StoredEvent): number => event.dataJson.length + event.userId.length + event.eventType.length;

/**
 * Sends GET /events on a raw connection and stops reading once the answer has begun, as a client
 * that stalls would: the service has then read the first chunk and holds it.
 */
async function stalledExport(server: TestServer, userId: string, acceptEncoding = 'identity'): Promise<{ socket: Socket; received(): number; complete(): boolean; head(): string }> {
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  let received = 0;
  let tail = '';
  let head = '';
  socket.on('data', (chunk: Buffer) => {
    if (received === 0) head = chunk.toString('latin1').split('\r\n\r\n')[0]!;
    received += chunk.length;
    tail = (tail + chunk.toString('latin1', Math.max(0, chunk.length - 5))).slice(-5);
  });
  socket.write(`GET /events?user_id=${userId} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nAccept: application/x-ndjson\r\nAccept-Encoding: ${acceptEncoding}\r\n\r\n`);
  await once(socket, 'data');
  socket.pause();
  // A chunked answer sent to its end closes with the empty last chunk.
  return { socket, received: () => received, complete: () => tail === '0\r\n\r\n', head: () => head };
}

/** Waits (a bounded number of turns of the event loop) until everything reserved has been given back. */
async function allGivenBack(budget: MemoryBudget): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (budget.reserved() !== 0) {
    if (Date.now() > deadline) throw new Error(`${budget.reserved()} still reserved after 10 s`);
    await nextTurn();
  }
}

describe('answers of large events hold a bounded amount of memory', () => {
  let server: TestServer;
  let budget: MemoryBudget;
  let huge: StoredEvent[];

  before(async () => {
    // A budget of one chunk: while one answer holds a chunk, no other can start.
    budget = createMemoryBudget(CHUNK_SIZE);
    server = await startTestServer({ responseMemory: budget });
    // 40 MiB for one user: more than the connection's buffers can take while its client stalls.
    huge = await plant(server, Array.from({ length: 40 }, (_, i) => ({ userId: 'huge', eventType: 't', dataJson: JSON.stringify({ i, s: 'x'.repeat(1024 * 1024) }) })));
  });
  after(() => server.close());

  it('reads chunks of at most 1 MiB of text and one event more, however large the events', async () => {
    const mixed = await plant(server, Array.from({ length: 30 }, (_, i) => ({
      userId: 'mixed',
      eventType: 't',
      dataJson: JSON.stringify({ i, s: (i % 3 === 0 ? '"' : 'é').repeat(i % 2 === 0 ? 300_000 : 10) }),
    })));
    const largest = Math.max(...mixed.map(sizeOf));
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      for await (const chunk of server.store.query({ userId: 'mixed', eventTypes: [], dataFilters: [], order })) {
        assert.ok(chunk.length <= CHUNK_ROWS);
        const size = chunk.reduce((total, event) => total + sizeOf(event), 0);
        assert.ok(size < CHUNK_SIZE + largest, `a chunk of ${size} characters`);
        seen.push(...chunk.map((event) => event.id));
      }
      const expected = mixed.map((event) => event.id);
      assert.deepEqual(seen, order === 'asc' ? expected : expected.reverse());
    }
  });

  it('ends a page of large events at 4 MiB of text, with a Link to the rest, and walks to the end', async () => {
    const ids: string[] = [];
    let next: string | undefined = 'user_id=huge&limit=100';
    let pages = 0;
    while (next !== undefined) {
      const response: Response = await server.get(next, { Accept: 'application/x-ndjson' });
      assert.equal(response.status, 200);
      const lines = (await response.text()).split('\n').filter((line) => line !== '');
      // Each event is a little over 1 MiB, so the fourth reaches PAGE_SIZE and ends the page.
      assert.ok(lines.length >= 1 && lines.length <= PAGE_SIZE / (1024 * 1024), `a page of ${lines.length} events`);
      ids.push(...lines.map((line) => (JSON.parse(line) as { id: string }).id));
      next = /<\/events\?([^>]+)>; rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
      pages++;
    }
    assert.deepEqual(ids, huge.map((event) => event.id));
    assert.equal(pages, 10);
    assert.equal(budget.reserved(), 0);
  });

  it('answers 503 with Retry-After before any byte while other answers hold the memory, and serves again once it is given back', async () => {
    assert.equal(await budget.reserve(CHUNK_SIZE, 'other keys'), true); // all of it, as answers being sent would hold it
    try {
      for (const query of ['user_id=huge', 'user_id=huge&limit=5', 'user_id=nobody']) {
        const refused = await server.get(query, { Accept: 'application/x-ndjson' });
        assert.equal(refused.status, 503, query);
        assert.equal(refused.headers.get('retry-after'), '1');
        assert.equal(await errorMessage(refused), 'The service is sending as many large answers as its memory allows (to this key, or to all); retry in 1 s');
      }
    } finally {
      budget.release(CHUNK_SIZE, 'other keys');
    }
    const served = await server.get('user_id=huge', { Accept: 'application/x-ndjson' });
    assert.equal(served.status, 200);
    const lines = (await served.text()).split('\n').filter((line) => line !== '');
    assert.deepEqual(lines.map((line) => (JSON.parse(line) as { id: string }).id), huge.map((event) => event.id));
    assert.equal(budget.reserved(), 0, 'every chunk given back');
  });

  it('gives back at once what an answer held when its client hangs up before the first byte', async () => {
    const { hostname, port } = new URL(server.url);
    for (const query of ['user_id=huge&limit=10000', 'user_id=huge']) {
      for (let i = 0; i < 5; i++) {
        const socket = connect(Number(port), hostname);
        await once(socket, 'connect');
        socket.write(`GET /events?${query} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\n\r\n`);
        socket.resetAndDestroy(); // while the service is still reading the answer
      }
      // Well before the 60 s after which a client that reads nothing is cut off.
      await allGivenBack(budget);
    }
    assert.equal((await server.get('user_id=huge&limit=1')).status, 200);
  });
});

describe('the memory answers share, per key', () => {
  let server: TestServer;
  let budget: MemoryBudget;
  let dir: string;
  const readKey = generateKey();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-share-'));
    const keysFile = join(dir, 'keys.json');
    writeKeysFile(keysFile, [{ name: 'reader', scope: 'read', sha256: hashKey(readKey), createdAt: new Date().toISOString() }]);
    budget = createMemoryBudget(8 * CHUNK_SIZE); // a quarter, 2 MiB, for each key
    server = await startTestServer({ responseMemory: budget, keysFile });
    await plant(server, [{ userId: 'shared', eventType: 't', dataJson: '{"n":1}' }]);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a key that holds its share, while another key is still served', async () => {
    // The admin key's slow readers hold its whole share.
    assert.equal(await budget.reserve(2 * CHUNK_SIZE, ENV_KEY_NAME), true);
    try {
      const refused = await server.get('user_id=shared');
      assert.equal(refused.status, 503);
      assert.match(await errorMessage(refused), /as many large answers as its memory allows \(to this key, or to all\)/);
      const served = await server.get('user_id=shared', { 'X-API-Key': readKey });
      assert.equal(served.status, 200);
      assert.equal((await served.json() as unknown[]).length, 1);
    } finally {
      budget.release(2 * CHUNK_SIZE, ENV_KEY_NAME);
    }
    assert.equal((await server.get('user_id=shared')).status, 200);
    assert.equal(budget.reserved(), 0);
  });
});

describe('a client that stops reading', () => {
  let server: TestServer;
  let budget: MemoryBudget;
  const log = captureLog();

  before(async () => {
    // Room for the chunks an answer reads ahead within the key's quarter, and an encoder's
    // ENCODER_BYTES beside them with nobody waiting, so that the gzip client's answer is coded.
    budget = createMemoryBudget(16 * CHUNK_SIZE);
    server = await startTestServer({ responseMemory: budget, stalledClientMs: 300, log: log.logger });
    await plant(server, Array.from({ length: 40 }, (_, i) => ({ userId: 'huge', eventType: 't', dataJson: JSON.stringify({ i, s: 'x'.repeat(1024 * 1024) }) })));
    // 40 MiB that compression cannot shrink: coded, it still fills the connection's buffers.
    await plant(server, Array.from({ length: 40 }, (_, i) => ({ userId: 'random', eventType: 't', dataJson: JSON.stringify({ i, s: randomBytes(768 * 1024).toString('base64') }) })));
  });
  after(() => server.close());

  it('is cut off, and what its answer held is given back', async () => {
    const stalled = await stalledExport(server, 'huge');
    await log.waitFor((line) => line.msg === 'client stopped reading; connection cut');
    stalled.socket.resume(); // read what the connection held, up to the cut
    await once(stalled.socket, 'close');
    assert.ok(stalled.received() < 40 * 1024 * 1024, `${stalled.received()} bytes: the answer was not cut`);
    await allGivenBack(budget);
    const served = await server.get('user_id=huge&limit=1');
    assert.equal(served.status, 200);
  });

  it('is cut off when its answer is gzip-coded too: the encoder passes the backpressure on', async () => {
    log.lines.splice(0); // the line awaited must be this answer's
    const stalled = await stalledExport(server, 'random', 'gzip');
    assert.match(stalled.head(), /\r\nContent-Encoding: gzip\r\n/);
    await log.waitFor((line) => line.msg === 'client stopped reading; connection cut');
    stalled.socket.resume();
    await once(stalled.socket, 'close');
    assert.ok(stalled.received() > 1024 * 1024, `${stalled.received()} bytes: the client read the start`);
    assert.equal(stalled.complete(), false, `${stalled.received()} bytes: the answer was not cut`);
    await allGivenBack(budget);
    assert.equal((await server.get('user_id=random&limit=1')).status, 200);
  });
});
