import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

const MiB = 1024 * 1024;
const TOO_LARGE = 'Request body is larger than the limit of 1048576 bytes';
const MISSING_KEY = 'Missing API key: send it in X-API-Key, or as Authorization: Bearer <key>';

/** A JSON event padded to `bytes`, valid but for its size. */
function paddedEvent(bytes: number): string {
  const head = '{"user_id":"refused","event_type":"t","data":{"pad":"';
  return `${head}${'x'.repeat(bytes - head.length - 3)}"}}`;
}

type Raw = { socket: Socket; received(): string; closed: Promise<{ reset: boolean }> };

/** A raw connection that records what the server sends and how the connection ended. */
function rawConnection(url: string): Raw {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const parts: Buffer[] = [];
  socket.on('data', (part: Buffer) => parts.push(part));
  let reset = false;
  socket.on('error', () => {
    reset = true;
  });
  // Not events.once, which rejects on the 'error' a reset brings.
  const closed = new Promise<{ reset: boolean }>((resolve) => socket.once('close', () => resolve({ reset })));
  return { socket, received: () => Buffer.concat(parts).toString('latin1'), closed };
}

/** Resolves once `raw` has received text matching `pattern`, or its connection closed. */
async function receivedMatching(raw: Raw, pattern: RegExp): Promise<string> {
  while (!pattern.test(raw.received()) && !raw.socket.destroyed) {
    await Promise.race([once(raw.socket, 'data'), raw.closed]);
  }
  return raw.received();
}

/** Writes `total` bytes in pieces, waiting for the socket to drain, until done or the socket fails. */
async function writeBody(socket: Socket, total: number): Promise<number> {
  const piece = Buffer.alloc(64 * 1024, 0x78);
  let written = 0;
  while (written < total && !socket.destroyed && socket.writable) {
    const part = piece.subarray(0, Math.min(piece.length, total - written));
    written += part.length;
    if (!socket.write(part)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
  }
  return written;
}

describe(`a body refused before it is read (${TEST_BACKEND})`, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ maxBodyBytes: MiB });
  });
  after(() => server.close());

  it('lets fetch read the 413 for a 5 MB body every time, instead of failing with EPIPE', async () => {
    const body = paddedEvent(5 * MiB);
    for (let attempt = 0; attempt < 10; attempt++) {
      const response = await server.post(body);
      assert.equal(response.status, 413, `attempt ${attempt}`);
      assert.equal(response.headers.get('connection'), 'close');
      assert.equal(await errorMessage(response), TOO_LARGE);
    }
    assert.equal(await server.database.countEvents(), 0);
  });

  it('lets fetch read the 413 of a 5 MB body sent without a Content-Length, and the 401 of one sent without a key', async () => {
    const body = new TextEncoder().encode(paddedEvent(5 * MiB));
    const streamed = await fetch(`${server.url}/events`, {
      method: 'POST',
      headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < body.length; at += 256 * 1024) controller.enqueue(body.subarray(at, at + 256 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.equal(await errorMessage(streamed), TOO_LARGE);
    const unknown = await fetch(`${server.url}/events`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    assert.equal(unknown.status, 401);
    assert.equal(await errorMessage(unknown), MISSING_KEY);
    assert.equal(await server.database.countEvents(), 0);
  });

  it('answers a raw client that sends its whole 5 MB body before reading, then closes cleanly, without a reset', async () => {
    const raw = rawConnection(server.url);
    const size = 5 * MiB;
    raw.socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
    assert.equal(await writeBody(raw.socket, size), size, 'the whole body was written');
    raw.socket.end();
    assert.deepEqual(await raw.closed, { reset: false });
    const text = raw.received();
    assert.match(text, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
    assert.match(text, /\r\nConnection: close\r\n/i);
    assert.ok(text.endsWith(`\r\n\r\n${JSON.stringify({ message: TOO_LARGE })}`), text);
  });

  it('never sends 100 Continue for a request it refuses, and sends it for one it reads', async () => {
    const refusals: Array<[string, RegExp]> = [
      [`X-API-Key: ${TEST_API_KEY}\r\nContent-Length: ${5 * MiB}`, /^HTTP\/1\.1 413 /],
      [`Content-Length: 100`, /^HTTP\/1\.1 401 /],
      [`X-API-Key: ${TEST_API_KEY}\r\nContent-Type: text/plain\r\nContent-Length: 100`, /^HTTP\/1\.1 415 /],
    ];
    for (const [headers, status] of refusals) {
      const raw = rawConnection(server.url);
      raw.socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n${headers}\r\n\r\n`);
      const text = await receivedMatching(raw, /\r\n\r\n\{.*\}$/s);
      assert.match(text, status, headers);
      assert.doesNotMatch(text, /100 Continue/, headers);
      raw.socket.end();
      await raw.closed;
    }

    const body = '{"user_id":"continued","event_type":"t"}';
    const raw = rawConnection(server.url);
    raw.socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    assert.equal(await receivedMatching(raw, /\r\n\r\n/), 'HTTP/1.1 100 Continue\r\n\r\n');
    raw.socket.write(body);
    await raw.closed; // the request said Connection: close
    assert.match(raw.received(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 Created\r\n/);
    assert.equal(await server.database.countEvents(), 1);
  });
});

describe(`what is read of a refused body is bounded (${TEST_BACKEND})`, () => {
  it('cuts a client that goes on sending past the bound, after answering it', async () => {
    const server = await startTestServer({ maxBodyBytes: 1024, unreadBody: { maxBytes: 256 * 1024, maxMs: 60_000 } });
    try {
      const raw = rawConnection(server.url);
      const declared = 1024 * MiB;
      raw.socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Length: ${declared}\r\n\r\n`);
      const written = await writeBody(raw.socket, declared);
      await raw.closed;
      assert.ok(written < declared, `the server stopped reading after ${written} bytes of ${declared}`);
      assert.match(raw.received(), /^HTTP\/1\.1 413 /);
    } finally {
      await server.close();
    }
  });

  it('cuts a client that stops sending before its body is done, once the time is up', async () => {
    const server = await startTestServer({ maxBodyBytes: 1024, unreadBody: { maxBytes: 64 * MiB, maxMs: 200 } });
    try {
      const raw = rawConnection(server.url);
      raw.socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Length: ${MiB}\r\n\r\n${'x'.repeat(4096)}`);
      await raw.closed; // the server closes it: nothing more is sent from here
      assert.match(raw.received(), /^HTTP\/1\.1 413 /);
    } finally {
      await server.close();
    }
  });
});
