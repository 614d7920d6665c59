import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { StoredEvent } from '../../src/events/event.js';
import { startService, type ServiceProcess } from '../helpers/service-process.js';
import { createTestDatabase, TEST_BACKEND, TEST_CHAIN_SECRET, testSigningKeyFile, type TestDatabase } from '../helpers/test-database.js';

const KEY = 'export-memory-key-0123456789';
const EVENTS = 200;
/**
 * The most the service process may reach (its VmHWM) while exporting 200 MiB four times at once.
 * What it holds is bounded by bytes: each answer keeps one chunk of about 1 MiB (and the event
 * that crossed it) and a piece of 64 Ki characters being written, and all answers together stay
 * within AUDITOR_RESPONSE_MEMORY_BYTES (64 MiB). The rest is the process at rest (about 80 MB)
 * and garbage V8 has not yet collected: it lets the heap grow to a few times what is live before
 * a full collection (about 350 MB of heap over 80 MB live was measured under eight such exports).
 * Before the fix, 50 of these events exported as CSV took the process to 1.9 GB, and 200 past
 * its heap limit.
 */
const PEAK_RSS_BOUND_MB = 512;

/** Each format written the plain way, one whole string per event: what the export must equal. */
const FORMATS = {
  csv: {
    accept: 'text/csv',
    head: 'id,timestamp,user_id,event_type,data\r\n',
    event: (e: StoredEvent, _first: boolean) => `${e.id},${iso(e)},${e.userId},${e.eventType},"${doubled(e.dataJson)}"\r\n`,
    tail: '',
  },
  json: { accept: 'application/json', head: '[', event: (e: StoredEvent, first: boolean) => (first ? '' : ',') + eventJson(e), tail: ']' },
  ndjson: { accept: 'application/x-ndjson', head: '', event: (e: StoredEvent) => `${eventJson(e)}\n`, tail: '' },
};
type Format = keyof typeof FORMATS;
// Every planted event has the same data: its CSV cell is worked out once.
const doubledCache = new Map<string, string>();
const doubled = (text: string): string => doubledCache.get(text) ?? doubledCache.set(text, text.replaceAll('"', '""')).get(text)!;
const iso = (e: StoredEvent): string => new Date(e.timestampMs).toISOString();
const eventJson = (e: StoredEvent): string =>
  `{"id":"${e.id}","timestamp":"${iso(e)}","user_id":"${e.userId}","event_type":"${e.eventType}","data":${e.dataJson}}`;

function expectedDigest(format: Format, events: readonly StoredEvent[]): { sha256: string; bytes: number } {
  const { head, event, tail } = FORMATS[format];
  const hash = createHash('sha256');
  let bytes = 0;
  for (const text of [head, ...events.map((e, i) => event(e, i === 0)), tail]) {
    hash.update(text);
    bytes += Buffer.byteLength(text);
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Exports the user as `format`, hashing the body as it arrives (the test keeps none of it). */
async function exportDigest(url: string, format: Format): Promise<{ status: number; sha256: string; bytes: number }> {
  const response = await fetch(`${url}/events?user_id=victim`, { headers: { 'X-API-Key': KEY, Accept: FORMATS[format].accept } });
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of response.body!) {
    hash.update(chunk as Uint8Array);
    bytes += (chunk as Uint8Array).length;
  }
  return { status: response.status, sha256: hash.digest('hex'), bytes };
}

function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(match, 'no VmHWM line');
  return Number(match[1]) / 1024;
}

/** The service as a process of its own, on the test's database (of the backend under test). */
function startServiceOn(database: TestDatabase): Promise<ServiceProcess> {
  const location = database.location;
  return startService({
    AUDITOR_API_KEY: KEY,
    AUDITOR_DB: location.kind === 'sqlite' ? location.path : location.url,
    ...(TEST_BACKEND === 'postgres' ? { AUDITOR_CHAIN_SECRET: TEST_CHAIN_SECRET, AUDITOR_SIGNING_KEY_FILE: testSigningKeyFile() } : {}),
  });
}

async function stopService(service: ServiceProcess): Promise<void> {
  service.child.kill('SIGTERM');
  await service.exited;
}

describe('exports of 200 events of 1 MiB of double quotes, by a service process', { skip: !existsSync('/proc/self/status') && 'needs /proc to read the peak memory' }, () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let stored: StoredEvent[];

  before(async () => {
    database = await createTestDatabase();
    const store = await database.openStore();
    // What any ingest key can plant: 1 MiB of escaped double quotes, which CSV doubles again.
    const dataJson = JSON.stringify({ s: '"'.repeat(520_000) });
    stored = [];
    for (let i = 0; i < EVENTS; i += 10) {
      stored.push(...(await store.appendAll(Array.from({ length: 10 }, () => ({ userId: 'victim', eventType: 'quotes', dataJson })))));
    }
    await store.close();
    service = await startServiceOn(database);
  });
  after(async () => {
    if (service !== undefined) await stopService(service);
    await database?.drop();
  });

  it(`answers each format whole, one at a time and four at once, within ${PEAK_RSS_BOUND_MB} MB`, async () => {
    const expected = Object.fromEntries((Object.keys(FORMATS) as Format[]).map((format) => [format, expectedDigest(format, stored)]));
    for (const format of Object.keys(FORMATS) as Format[]) {
      assert.deepEqual(await exportDigest(service.url, format), { status: 200, ...expected[format] }, format);
    }
    const together: Format[] = ['csv', 'json', 'ndjson', 'csv'];
    const answers = await Promise.all(together.map((format) => exportDigest(service.url, format)));
    answers.forEach((answer, i) => assert.deepEqual(answer, { status: 200, ...expected[together[i]!] }, together[i]));

    const ready = await fetch(`${service.url}/readyz`);
    assert.equal(ready.status, 200, 'the service survives');
    const peak = peakRssMb(service.child.pid!);
    assert.ok(peak < PEAK_RSS_BOUND_MB, `peak RSS ${peak.toFixed(0)} MB`);
  });
});

describe('300 POSTs of 1 MiB at once, to a service process', { skip: !existsSync('/proc/self/status') && 'needs /proc to read the peak memory' }, () => {
  let database: TestDatabase;
  let service: ServiceProcess;

  before(async () => {
    database = await createTestDatabase();
    service = await startServiceOn(database);
  });
  after(async () => {
    if (service !== undefined) await stopService(service);
    await database?.drop();
  });

  it(`records or refuses each (201, or 503 with Retry-After), records exactly those it acknowledged, within ${PEAK_RSS_BOUND_MB} MB`, async () => {
    // What any ingest key can send: the largest body the limit allows, many at once. Without a
    // budget for bodies in flight, 300 of them took the process to 971 MB.
    const body = JSON.stringify({ user_id: 'flood', event_type: 't', data: { s: 'x'.repeat(1_000_000) } });
    const answers = await Promise.all(Array.from({ length: 300 }, async () => {
      const response = await fetch(`${service.url}/events`, { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' }, body });
      const answer = (await response.json()) as { message: string };
      return { status: response.status, retryAfter: response.headers.get('retry-after'), message: answer.message };
    }));
    const recorded = answers.filter((answer) => answer.status === 201);
    const refused = answers.filter((answer) => answer.status === 503);
    assert.equal(recorded.length + refused.length, 300, JSON.stringify(answers.filter((answer) => answer.status !== 201 && answer.status !== 503)));
    assert.ok(recorded.length > 0, 'some were recorded');
    for (const answer of refused) {
      assert.equal(answer.retryAfter, '1');
      assert.match(answer.message, /as many request bodies as its memory allows .*nothing was recorded; retry in 1 s/);
    }
    assert.equal(await database.countEvents('flood'), recorded.length);
    const peak = peakRssMb(service.child.pid!);
    assert.ok(peak < PEAK_RSS_BOUND_MB, `peak RSS ${peak.toFixed(0)} MB`);
  });
});
