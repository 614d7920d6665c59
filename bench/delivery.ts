/**
 * npm run bench:delivery: what live streams and webhook sinks cost, on the bench's preloaded log.
 *  - Latency: one stream open, events POSTed one at a time; for each, the time from its 201 to
 *    its message on the stream (negative when the stream had it first: the commit wakes the
 *    stream before the response is written), p50 and p99; and from the 201 to its delivery to a
 *    sink (AUDITOR_SINK_BATCH_WAIT=0).
 *  - Ingest (POST /events, 50 connections, as `npm run bench` loads it) with 10 open streams (5 of
 *    every event, 5 of one type) and 2 sinks (every event; one type) reading everything it writes,
 *    against the same ingest with none, in alternating rounds, each on a fresh copy of the log
 *    (the sinks with the default settings: batches of 100, waiting up to 1 s to fill).
 *    The target: at least 0.9 of it.
 * The server is pinned to one CPU (its writer thread with it), the load, the streams' readers and
 * the receiver to the other.
 * Options: --events 100000 --rounds 3 --duration 10 --posts 300 --readers streams,sinks --writer-free
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EVENT_TYPES, eventBody } from './fixtures.js';
import { commandExists, pickLoadGenerator } from './load.js';
import { preloadSqlite } from './preload.js';
import { fixed, median, printTable } from './report.js';
import { startServer, type RunningServer } from './server-process.js';

const { values: options } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' }, posts: { type: 'string', default: '300' },
    readers: { type: 'string', default: 'streams,sinks' },
    'writer-free': { type: 'boolean', default: false },
  },
});
const preloadEvents = Number(options.events);
const rounds = Number(options.rounds);
const durationSeconds = Number(options.duration);
const posts = Number(options.posts);
const readers = new Set(options.readers.split(','));
/** The server's main thread alone on CPU 0, its other threads (the SQLite writer) free to use CPU 1 too, as `npm run bench` also measures. */
const writerFree = options['writer-free'];
const API_KEY = 'bench-key-0123456789abcdef';
const CHAIN_SECRET = 'bench-chain-secret-0123456789abcdef';
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../src/main.js');
const SERVER_CPU = 0;
const LOAD_CPU = 1;
const BODIES = Array.from({ length: 1000 }, (_, n) => eventBody(n));
const ONE_TYPE = EVENT_TYPES[0]!;

/** A stream read as fast as it comes; each event's id, with when it arrived, to `onEvent`. */
function openStream(server: RunningServer, query: string, onEvent: (id: string, atMs: number) => void): { close(): void; opened: Promise<void> } {
  let buffered = '';
  let opened: () => void = () => undefined;
  const openedPromise = new Promise<void>((resolve) => (opened = resolve));
  const req = request(`${server.url}/events/stream${query}`, { headers: { 'X-API-Key': API_KEY } }, (response: IncomingMessage) => {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.startsWith('retry:')) opened();
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const message = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = /^data: (\{"id":"([^"]+)")/m.exec(message);
        if (data !== null) onEvent(data[2]!, performance.now());
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { close: () => req.destroy(), opened: openedPromise };
}

/** A receiver answering 200 at once; each event's id, with when it arrived, to `onEvent`. */
async function startReceiver(onEvent: (id: string, atMs: number) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const at = performance.now();
    for (const match of body.matchAll(/\{"id":"([^"]+)"/g)) onEvent(match[1]!, at);
    res.writeHead(200).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function addSink(server: RunningServer, url: string, filters: Record<string, string[]>): Promise<void> {
  const response = await fetch(`${server.url}/sinks`, {
    method: 'POST', headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify({ url, filters }),
  });
  if (response.status !== 201) throw new Error(`POST /sinks answered ${response.status}`);
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

const taskset = (await commandExists('taskset')) && cpus().length >= 2;
if (taskset) execFileSync('taskset', ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
const load = await pickLoadGenerator();
console.log(`Load generator: ${load.name}; ${taskset ? `server on CPU ${SERVER_CPU}, load, streams and receiver on CPU ${LOAD_CPU}` : 'not pinned'}.`);

const dir = mkdtempSync(join(tmpdir(), 'auditor-delivery-bench-'));
try {
  const template = join(dir, 'template.db');
  const started = performance.now();
  preloadSqlite(template, preloadEvents, CHAIN_SECRET);
  console.log(`Preloaded ${preloadEvents} events in ${((performance.now() - started) / 1000).toFixed(1)} s (load average ${loadavg()[0]!.toFixed(2)}).`);
  const serverFor = async (name: string, extra: Record<string, string> = {}): Promise<RunningServer> => {
    const roundDir = join(dir, name);
    execFileSync('mkdir', ['-p', roundDir]);
    copyFileSync(template, join(roundDir, 'events.db'));
    return startServer(MAIN, {
      AUDITOR_API_KEY: API_KEY, AUDITOR_DB: join(roundDir, 'events.db'), AUDITOR_CHAIN_SECRET: CHAIN_SECRET, AUDITOR_LOG_LEVEL: 'error',
      AUDITOR_STREAMS_PER_KEY: '20', ...extra,
    }, writerFree ? { taskset, cpu: `${SERVER_CPU}-${LOAD_CPU}`, mainThreadCpu: SERVER_CPU } : { taskset, cpu: SERVER_CPU });
  };

  // Latency, one event at a time.
  {
    const server = await serverFor('latency', { AUDITOR_SINK_BATCH_WAIT: '0s' });
    const arrivals = new Map<string, number>();
    const delivered = new Map<string, number>();
    const stream = openStream(server, '', (id, at) => arrivals.set(id, at));
    const receiver = await startReceiver((id, at) => delivered.set(id, at));
    try {
      await stream.opened;
      await addSink(server, receiver.url, {});
      const answered = new Map<string, number>();
      for (let n = 0; n < posts; n++) {
        const response = await fetch(`${server.url}/events`, { method: 'POST', headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' }, body: BODIES[n % BODIES.length]! });
        const { id } = (await response.json()) as { id: string };
        answered.set(id, performance.now());
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const toStream = [...answered].filter(([id]) => arrivals.has(id)).map(([id, at]) => arrivals.get(id)! - at);
      const toSink = [...answered].filter(([id]) => delivered.has(id)).map(([id, at]) => delivered.get(id)! - at);
      printTable(`From 201 to the event on an open stream, and at a sink (${posts} events, one at a time)`, ['', 'received', 'p50 ms', 'p99 ms'], [
        ['stream', `${toStream.length}/${posts}`, fixed(percentile(toStream, 50), 2), fixed(percentile(toStream, 99), 2)],
        ['sink (batch wait 0)', `${toSink.length}/${posts}`, fixed(percentile(toSink, 50), 1), fixed(percentile(toSink, 99), 1)],
      ]);
    } finally {
      stream.close();
      await receiver.close();
      await server.stop();
    }
  }

  // Ingest with and without readers.
  type Round = { round: number; kind: 'without' | 'with'; requestsPerSecond: number; p99Ms: number; errors: number; cpuMicrosPerRequest: number; streamed?: number; delivered?: number };
  const results: Round[] = [];
  for (let round = 1; round <= rounds; round++) {
    const kinds = round % 2 === 1 ? (['without', 'with'] as const) : (['with', 'without'] as const);
    for (const kind of kinds) {
      const server = await serverFor(`${kind}-${round}`);
      let streamed = 0;
      let delivered = 0;
      const streams: Array<{ close(): void; opened: Promise<void> }> = [];
      let receiver: { url: string; close(): Promise<void> } | undefined;
      try {
        if (kind === 'with' && readers.has('streams')) {
          for (let n = 0; n < 10; n++) streams.push(openStream(server, n < 5 ? '' : `?event_type=${ONE_TYPE}`, () => streamed++));
          await Promise.all(streams.map((stream) => stream.opened));
        }
        if (kind === 'with' && readers.has('sinks')) {
          receiver = await startReceiver(() => delivered++);
          await addSink(server, receiver.url, {});
          await addSink(server, receiver.url, { event_type: [ONE_TYPE] });
        }
        const cpuBefore = server.cpuMicros();
        const result = await load.run({
          url: server.url, method: 'POST', headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
          connections: 50, durationSeconds, paths: ['/events'], bodies: BODIES, cpu: LOAD_CPU,
        });
        const cpuMicrosPerRequest = (server.cpuMicros() - cpuBefore) / result.requests;
        const entry: Round = { round, kind, requestsPerSecond: result.requestsPerSecond, p99Ms: result.p99Ms, errors: result.errors, cpuMicrosPerRequest };
        if (kind === 'with') Object.assign(entry, { streamed, delivered });
        results.push(entry);
        console.log(`round ${round} ${kind.padEnd(7)} ${result.requestsPerSecond.toFixed(0)} req/s  p99 ${result.p99Ms.toFixed(1)} ms  CPU ${cpuMicrosPerRequest.toFixed(0)} µs/request  errors ${result.errors}` +
          (kind === 'with' ? `  streamed ${streamed} messages, delivered ${delivered} events during the load` : ''));
      } finally {
        for (const stream of streams) stream.close();
        await receiver?.close();
        await server.stop();
        rmSync(join(dir, `${kind}-${round}`), { recursive: true, force: true });
      }
    }
  }
  const ofKind = (kind: Round['kind']) => results.filter((r) => r.kind === kind);
  const ratios = Array.from({ length: rounds }, (_, i) => ofKind('with')[i]!.requestsPerSecond / ofKind('without')[i]!.requestsPerSecond);
  const what = [readers.has('streams') ? '10 streams' : '', readers.has('sinks') ? '2 sinks' : ''].filter(Boolean).join(', ');
  printTable(`Ingest with ${what}, against none, ${durationSeconds} s rounds, medians`, ['', 'req/s', 'p99 ms', 'CPU µs/request', 'errors'],
    (['without', 'with'] as const).map((kind) => [
      kind === 'with' ? what : 'none',
      fixed(median(ofKind(kind).map((r) => r.requestsPerSecond)), 0),
      fixed(median(ofKind(kind).map((r) => r.p99Ms)), 1),
      fixed(median(ofKind(kind).map((r) => r.cpuMicrosPerRequest)), 0),
      String(ofKind(kind).reduce((sum, r) => sum + r.errors, 0)),
    ]));
  console.log(`ingest with / without: ${fixed(median(ratios))} (per round ${ratios.map((r) => fixed(r)).join(' ')}; target 0.9)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
