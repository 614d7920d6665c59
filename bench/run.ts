/**
 * npm run bench: the real service against a baseline in the same run, on a preloaded database.
 * Options: --rounds 3 --duration 10 --events 1000000 --connections 50 --load wrk|autocannon
 *          --out bench/results/latest.json
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { measureChainMicroseconds, measureKeyHashingMicroseconds } from './chain-cost.js';
import { measureExport, type ExportResult } from './exports.js';
import { HOT_EVERY, HOT_USER, eventBody, typicalUser } from './fixtures.js';
import { runIngest } from './ingest.js';
import { commandExists, pickLoadGenerator, type LoadResult } from './load.js';
import { preloadSqlite } from './preload.js';
import { fixed, median, printTable } from './report.js';
import { startServer } from './server-process.js';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    events: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '50' },
    load: { type: 'string' },
    out: { type: 'string', default: 'bench/results/latest.json' },
  },
});
const rounds = Number(options.rounds);
const durationSeconds = Number(options.duration);
const preloadEvents = Number(options.events);
const connections = Number(options.connections);

const API_KEY = 'bench-key-0123456789abcdef';
const CHAIN_SECRET = 'bench-chain-secret-0123456789abcdef';
const HEADERS = { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' };
const SERVER_CPU = 0;
const LOAD_CPU = 1;
/** Query latency is what one analyst waits for an answer: one request at a time, so no queueing behind others. */
const QUERY_CONNECTIONS = 1;
/** Events per POST /events/batch in the batch ingest measurement. */
const BATCH_SIZE = 100;
const HOT_SPARSE_FILTER = `/events?user_id=${HOT_USER}&flag=rare`;
/** The index an operator adds for a hot data field (see the README), in the form queries use. */
const FLAG_INDEX = `CREATE INDEX events_by_user_flag ON events (user_id, json_extract(data, '$."flag"'), ts)`;
const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '../src/main.js');
const BASELINE = join(here, 'baseline-server.js');
const UNCHAINED = join(here, 'unchained-server.js');

const taskset = (await commandExists('taskset')) && cpus().length >= 2;
if (taskset) execFileSync('taskset', ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
const load = await pickLoadGenerator(options.load);
console.log(
  `Load generator: ${load.name}. ` +
    (taskset ? `Server pinned to CPU ${SERVER_CPU}, load generator to CPU ${LOAD_CPU} (taskset).` : 'Not pinned (no taskset or one CPU).'),
);

const dir = mkdtempSync(join(tmpdir(), 'auditor-bench-'));
const dbPath = join(dir, 'events.db');
try {
  const started = performance.now();
  preloadSqlite(dbPath, preloadEvents, CHAIN_SECRET);
  console.log(`Preloaded ${preloadEvents} events in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  const env = { AUDITOR_API_KEY: API_KEY, AUDITOR_DB: dbPath, AUDITOR_CHAIN_SECRET: CHAIN_SECRET };
  const serverOptions = { taskset, cpu: SERVER_CPU };

  // Exports first, on a fresh process, so its peak RSS is theirs.
  const exports: Record<string, ExportResult> = {};
  const exporter = await startServer(MAIN, env, serverOptions);
  try {
    // One small answer first, so the figures are not those of a cold process (first statement
    // preparation, first compilation).
    await measureExport(exporter, `/events?user_id=${typicalUser(1)}`, 'application/json', API_KEY);
    const idleRssMb = exporter.peakRssMb();
    console.log(`Export server warmed up: peak RSS ${fixed(idleRssMb, 0)} MB`);
    for (const [name, path, accept] of [
      ['typical user, JSON', `/events?user_id=${typicalUser(7)}`, 'application/json'],
      [`hot user (${preloadEvents / HOT_EVERY} events), JSON`, `/events?user_id=${HOT_USER}`, 'application/json'],
      [`hot user (${preloadEvents / HOT_EVERY} events), NDJSON`, `/events?user_id=${HOT_USER}`, 'application/x-ndjson'],
    ] as const) {
      exports[name] = await measureExport(exporter, path, accept, API_KEY);
      const r = exports[name]!;
      console.log(`export ${name.padEnd(32)} ${r.events} events  ${fixed(r.megabytes, 1)} MB  first byte ${fixed(r.timeToFirstByteMs)} ms  total ${fixed(r.totalMs, 0)} ms  server peak RSS ${fixed(r.serverPeakRssMb, 0)} MB`);
    }
  } finally {
    await exporter.stop();
  }

  const ingest = await runIngest({
    load, env, headers: HEADERS, connections, rounds, durationSeconds,
    servers: { baseline: BASELINE, service: MAIN, unchained: UNCHAINED },
    pin: { taskset, serverCpu: SERVER_CPU, loadCpu: LOAD_CPU },
    bodies: Array.from({ length: 4096 }, (_, n) => eventBody(n)),
  });

  // Batch ingest: the same events, 100 to a POST /events/batch, against the real service.
  const batchResults: LoadResult[] = [];
  {
    const batches = Array.from({ length: 256 }, (_, b) => `[${Array.from({ length: BATCH_SIZE }, (_, i) => eventBody(b * BATCH_SIZE + i)).join(',')}]`);
    const server = await startServer(MAIN, env, serverOptions);
    try {
      for (let round = 1; round <= rounds; round++) {
        const spec = { url: server.url, method: 'POST' as const, headers: HEADERS, connections, paths: ['/events/batch'], bodies: batches, cpu: LOAD_CPU };
        if (round === 1) await load.run({ ...spec, durationSeconds: 2 });
        const result = await load.run({ ...spec, durationSeconds });
        batchResults.push(result);
        console.log(`round ${round} batches of ${BATCH_SIZE}  ${fixed(result.requestsPerSecond * BATCH_SIZE, 0)} events/s  p50 ${fixed(result.p50Ms)} ms  p99 ${fixed(result.p99Ms)} ms  errors ${result.errors}`);
      }
    } finally {
      await server.stop();
    }
  }

  // Queries over HTTP against the real service on the preloaded (and now larger) table.
  const queryKinds: Record<string, (n: number) => string> = {
    'typical user': (n) => `/events?user_id=${typicalUser(n)}`,
    'typical user + event_type': (n) => `/events?user_id=${typicalUser(n)}&event_type=login`,
    'typical user + data filter': (n) => `/events?user_id=${typicalUser(n)}&status=failed`,
    'typical user, newest 20': (n) => `/events?user_id=${typicalUser(n)}&order=desc&limit=20`,
    'hot user + sparse data filter': () => HOT_SPARSE_FILTER,
  };
  const queryResults: Record<string, LoadResult[]> = {};
  const server = await startServer(MAIN, env, serverOptions);
  const runQuery = async (kind: string, path: (n: number) => string) => {
    const paths = Array.from({ length: 1000 }, (_, n) => path(n * 7));
    const spec = { url: server.url, method: 'GET' as const, headers: HEADERS, connections: QUERY_CONNECTIONS, paths, cpu: LOAD_CPU };
    await load.run({ ...spec, durationSeconds: 1 });
    const result = await load.run({ ...spec, durationSeconds: Math.max(3, Math.round(durationSeconds / 2)) });
    (queryResults[kind] ??= []).push(result);
    console.log(`${kind.padEnd(46)} ${fixed(result.requestsPerSecond, 0)} req/s  p50 ${fixed(result.p50Ms)} ms  p99 ${fixed(result.p99Ms)} ms  errors ${result.errors}`);
  };
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [kind, path] of Object.entries(queryKinds)) await runQuery(kind, path);
    }
    // What an operator's expression index on the hot field buys (the server keeps running:
    // SQLite re-plans its statements when the schema changes).
    const db = new Database(dbPath);
    const indexStarted = performance.now();
    db.exec(FLAG_INDEX);
    db.close();
    console.log(`Built the flag index in ${((performance.now() - indexStarted) / 1000).toFixed(1)} s.`);
    for (let round = 1; round <= rounds; round++) await runQuery('hot user + sparse data filter, indexed', () => HOT_SPARSE_FILTER);
  } finally {
    await server.stop();
  }

  const chainMicroseconds = measureChainMicroseconds(CHAIN_SECRET);
  const keyHashingMicroseconds = measureKeyHashingMicroseconds();

  // Report medians, with the ratio taken per round (each pair ran back to back) then its median.
  const of = (kind: 'baseline' | 'service' | 'unchained') => ingest.filter((r) => r.kind === kind);
  const inRound = (kind: 'baseline' | 'service' | 'unchained', round: number) => of(kind).find((r) => r.round === round)!.result.requestsPerSecond;
  const roundNumbers = of('service').map((r) => r.round);
  const ratios = roundNumbers.map((round) => inRound('service', round) / inRound('baseline', round));
  const chainRatios = roundNumbers.map((round) => inRound('service', round) / inRound('unchained', round));
  const summary = (results: LoadResult[]) => ({
    requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  });
  const figures = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    loadGenerator: load.name,
    pinned: taskset,
    rounds,
    durationSeconds,
    preloadEvents,
    connections,
    queryConnections: QUERY_CONNECTIONS,
    ingest: {
      baseline: { ...summary(of('baseline').map((r) => r.result)), peakRssMb: median(of('baseline').map((r) => r.peakRssMb)) },
      service: { ...summary(of('service').map((r) => r.result)), peakRssMb: Math.max(...of('service').map((r) => r.peakRssMb)) },
      unchained: { ...summary(of('unchained').map((r) => r.result)), peakRssMb: Math.max(...of('unchained').map((r) => r.peakRssMb)) },
      ratio: median(ratios),
      ratios,
      chainRatio: median(chainRatios),
      chainRatios,
    },
    queries: Object.fromEntries(Object.entries(queryResults).map(([kind, results]) => [kind, summary(results)])),
    exports,
    chain: { microsecondsPerEvent: chainMicroseconds, shareOfIngestTime: 0 },
    keyHashing: { microsecondsPerRequest: keyHashingMicroseconds },
    batchIngest: { batchSize: BATCH_SIZE, ...summary(batchResults), eventsPerSecond: median(batchResults.map((r) => r.requestsPerSecond * BATCH_SIZE)) },
  };
  // The share of each ingested event's time on the server that chaining takes.
  figures.chain.shareOfIngestTime = chainMicroseconds / (1e6 / figures.ingest.service.requestsPerSecond);

  const { baseline, service, unchained } = figures.ingest;
  printTable(`Ingest, ${connections} connections, median of ${rounds} rounds of ${durationSeconds} s`, ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'peak RSS MB', 'ratio'], [
    ['baseline (no storage)', fixed(baseline.requestsPerSecond, 0), fixed(baseline.p50Ms), fixed(baseline.p99Ms), String(baseline.errors), fixed(baseline.peakRssMb, 0), '1.00'],
    ['auditor (SQLite, FULL)', fixed(service.requestsPerSecond, 0), fixed(service.p50Ms), fixed(service.p99Ms), String(service.errors), fixed(service.peakRssMb, 0), fixed(figures.ingest.ratio)],
    [`auditor, batches of ${BATCH_SIZE} (events/s)`, fixed(figures.batchIngest.eventsPerSecond, 0), fixed(figures.batchIngest.p50Ms), fixed(figures.batchIngest.p99Ms), String(figures.batchIngest.errors), '', ''],
    ['auditor without the chain', fixed(unchained.requestsPerSecond, 0), fixed(unchained.p50Ms), fixed(unchained.p99Ms), String(unchained.errors), fixed(unchained.peakRssMb, 0), fixed(median(roundNumbers.map((round) => inRound('unchained', round) / inRound('baseline', round))))],
  ]);
  printTable(`Queries over HTTP, ${QUERY_CONNECTIONS} connection, median of ${rounds} rounds`, ['query', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
    Object.entries(figures.queries).map(([kind, r]) => [kind, fixed(r.requestsPerSecond, 0), fixed(r.p50Ms), fixed(r.p99Ms), String(r.errors)]));
  printTable('Whole answers, streamed', ['answer', 'events', 'MB', 'first byte ms', 'total ms', 'server peak RSS MB'],
    Object.entries(exports).map(([name, r]) => [name, String(r.events), fixed(r.megabytes, 1), fixed(r.timeToFirstByteMs), fixed(r.totalMs, 0), fixed(r.serverPeakRssMb, 0)]));

  console.log(`\nTamper-evident chain: ${fixed(chainMicroseconds)} µs of CPU per event, ${fixed(figures.chain.shareOfIngestTime * 100, 1)}% of the time per ingested event; ingest with / without it (median of per-round ratios): ${fixed(figures.ingest.chainRatio)}.`);
  console.log(`Keys kept as digests: ${fixed(keyHashingMicroseconds)} µs of CPU per request for hashing the presented key.`);

  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, JSON.stringify(figures, null, 2) + '\n');
  console.log(`\nFigures written to ${options.out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
