/**
 * GET /events/stream against the service as a user runs it: a client that reconnects across a
 * `kill -9` and a restart receives every acknowledged event once, in order; a client that reads
 * nothing costs the service no memory to speak of.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStream } from '../helpers/event-stream-client.js';
import { startService, type ServiceProcess } from '../helpers/service-process.js';

const KEY = 'stream-process-key-0123456789';

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** POST one event; its id once acknowledged, undefined when the service was not there to take it. */
async function post(url: string, n: number): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 'restart', event_type: 'step', data: { n } }),
    });
    return response.status === 201 ? ((await response.json()) as { id: string }).id : undefined;
  } catch {
    return undefined;
  }
}

/** The process's resident memory, in bytes. */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

describe('GET /events/stream, the service process', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-stream-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives a client that reconnects across a kill -9 and a restart every acknowledged event once, in order', async () => {
    const env = { AUDITOR_DB: join(dir, 'restart', 'auditor.db'), AUDITOR_API_KEY: KEY, PORT: String(await freePort()) };
    let service: ServiceProcess = await startService(env);
    const client = openStream(`${service.url}/events/stream?user_id=restart`, KEY);
    try {
      while (client.opens() === 0) await sleep(10);
      const acknowledged: string[] = [];
      for (let n = 0; n < 10; n++) acknowledged.push((await post(service.url, n))!);
      await client.waitFor(5); // it is streaming: some arrive before the service dies, perhaps not all
      service.child.kill('SIGKILL');
      await service.exited;
      // While it is down, nothing is acknowledged; the client keeps trying to reconnect.
      assert.equal(await post(service.url, -1), undefined);
      service = await startService(env);
      for (let n = 10; n < 20; n++) acknowledged.push((await post(service.url, n))!);
      assert.ok(acknowledged.every((id) => id !== undefined));

      const received = await client.waitFor(20, 20_000);
      assert.deepEqual(received.map((event) => event.id), acknowledged);
      await sleep(300);
      assert.equal(client.received.length, 20, 'none twice');
      assert.ok(client.opens() >= 2, 'it reconnected');
    } finally {
      client.close();
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  it('holds no more memory for a client that reads nothing than for none at all', async (t) => {
    const service = await startService({ AUDITOR_DB: join(dir, 'slow', 'auditor.db'), AUDITOR_API_KEY: KEY });
    const pid = service.child.pid!;
    const big = 'x'.repeat(50_000);
    /** Writes 20 MB of events of user `flood`. */
    const flood = async (): Promise<void> => {
      for (let n = 0; n < 40; n++) {
        const batch = Array.from({ length: 10 }, (_, i) => ({ user_id: 'flood', event_type: 'big', data: { n, i, big } }));
        const response = await fetch(`${service.url}/events/batch`, {
          method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(batch),
        });
        assert.equal(response.status, 201);
      }
    };
    /** The median of the service's RSS after each of `rounds` floods (RSS wanders by ±10 MB as SQLite and the heap grow and shrink). */
    const medianAfterFloods = async (rounds: number, held: number[] = []): Promise<number> => {
      const samples: number[] = [];
      for (let round = 0; round < rounds; round++) {
        await flood();
        await sleep(300); // the stream, if any, has read what it could, and waits for the client
        samples.push(rssOf(pid));
        held.push(await answersMemory());
      }
      return samples.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
    };
    /** What the service says its answers hold (auditor_response_memory_bytes), in bytes. */
    const answersMemory = async (): Promise<number> => {
      const text = await (await fetch(`${service.url}/metrics`, { headers: { 'X-API-Key': KEY } })).text();
      return Number(/^auditor_response_memory_bytes (\S+)$/m.exec(text)![1]);
    };
    try {
      for (let round = 0; round < 4; round++) await flood(); // until what writing takes has settled
      const without = await medianAfterFloods(3);
      const url = new URL(service.url);
      const socket = connect(Number(url.port), url.hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`GET /events/stream?user_id=flood HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\n\r\n`);
      socket.pause(); // and never reads
      await sleep(200);
      const held: number[] = [];
      const withStalled = await medianAfterFloods(3, held); // 60 MB for a client that reads none of it
      socket.destroy();
      // The stream holds at most one chunk (1 MiB of event text, and the 50 KB event that crossed
      // that limit) of what it could not send...
      assert.ok(held.every((bytes) => bytes > 0 && bytes <= 1024 * 1024 + 60_000), `answers held ${held.join(', ')} bytes`);
      // ...and so the process did not grow by the 60 MB written. RSS wanders, by ±15 MB on Node 20
      // and up to 45 MB seen on Node 24 (its heap grows in larger steps): the bound is what a
      // stream that kept everything it could not send would exceed, not a few MB.
      const grown = (withStalled - without) / 1024 / 1024;
      t.diagnostic(`answers held ${held.join(', ')} bytes; RSS median ${(without / 1e6).toFixed(1)} → ${(withStalled / 1e6).toFixed(1)} MB`);
      assert.ok(grown < 60, `RSS grew by ${grown.toFixed(1)} MB with a stalled stream (median ${(without / 1e6).toFixed(0)} → ${(withStalled / 1e6).toFixed(0)} MB)`);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });
});
