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
import { commandExists, pickLoadGenerator, type LoadResult } from './load.js';
import { HOT_USER, eventBody, typicalUser } from './fixtures.js';
import { preloadSqlite } from './preload.js';
import { fixed, median, printTable } from './report.js';
import { startServer, type RunningServer } from './server-process.js';

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
const HEADERS = { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' };
const SERVER_CPU = 0;
const LOAD_CPU = 1;
/** Query latency is what one analyst waits for an answer: one request at a time, so no queueing behind others. */
const QUERY_CONNECTIONS = 1;
const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '../src/main.js');
const BASELINE = join(here, 'baseline-server.js');

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
  let started = performance.now();
  preloadSqlite(dbPath, preloadEvents);
  console.log(`Preloaded ${preloadEvents} events in ${((performance.now() - started) / 1000).toFixed(1)} s.`);

  const bodies = Array.from({ length: 4096 }, (_, n) => eventBody(n));
  const env = { AUDITOR_API_KEY: API_KEY, AUDITOR_DB: dbPath };
  const serverOptions = { taskset, cpu: SERVER_CPU };
  const ingestLoad = (server: RunningServer, seconds: number) =>
    load.run({ url: server.url, method: 'POST', headers: HEADERS, connections, durationSeconds: seconds, paths: ['/events'], bodies, cpu: LOAD_CPU });

  // Ingest: baseline and real service alternate, each a fresh process, warmed up first.
  const ingest = { baseline: [] as LoadResult[], service: [] as LoadResult[], baselineRss: [] as number[], serviceRss: [] as number[] };
  for (let round = 1; round <= rounds; round++) {
    for (const kind of ['baseline', 'service'] as const) {
      const server = await startServer(kind === 'baseline' ? BASELINE : MAIN, env, serverOptions);
      try {
        await ingestLoad(server, 2);
        const result = await ingestLoad(server, durationSeconds);
        ingest[kind].push(result);
        ingest[kind === 'baseline' ? 'baselineRss' : 'serviceRss'].push(server.peakRssMb());
        console.log(`round ${round} ${kind.padEnd(8)} ${fixed(result.requestsPerSecond, 0)} req/s  p50 ${fixed(result.p50Ms)} ms  p99 ${fixed(result.p99Ms)} ms  errors ${result.errors}`);
      } finally {
        await server.stop();
      }
    }
  }

  // Queries over HTTP against the real service on the preloaded (and now larger) table.
  const queryKinds = {
    'typical user': (n: number) => `/events?user_id=${typicalUser(n)}`,
    'typical user + event_type': (n: number) => `/events?user_id=${typicalUser(n)}&event_type=login`,
    'typical user + data filter': (n: number) => `/events?user_id=${typicalUser(n)}&status=failed`,
    'hot user + sparse data filter': () => `/events?user_id=${HOT_USER}&flag=rare`,
  };
  const queryResults: Record<string, LoadResult[]> = Object.fromEntries(Object.keys(queryKinds).map((k) => [k, []]));
  const server = await startServer(MAIN, env, serverOptions);
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [kind, path] of Object.entries(queryKinds)) {
        const paths = Array.from({ length: 1000 }, (_, n) => path(n * 7));
        const spec = { url: server.url, method: 'GET' as const, headers: HEADERS, connections: QUERY_CONNECTIONS, paths, cpu: LOAD_CPU };
        await load.run({ ...spec, durationSeconds: 1 });
        const result = await load.run({ ...spec, durationSeconds: Math.max(3, Math.round(durationSeconds / 2)) });
        queryResults[kind]!.push(result);
        console.log(`round ${round} ${kind.padEnd(30)} ${fixed(result.requestsPerSecond, 0)} req/s  p50 ${fixed(result.p50Ms)} ms  p99 ${fixed(result.p99Ms)} ms  errors ${result.errors}`);
      }
    }
  } finally {
    await server.stop();
  }

  // Report medians, with the ratio taken per round (each pair ran back to back) then its median.
  const ratios = ingest.service.map((r, i) => r.requestsPerSecond / ingest.baseline[i]!.requestsPerSecond);
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
      baseline: { ...summary(ingest.baseline), peakRssMb: median(ingest.baselineRss) },
      service: { ...summary(ingest.service), peakRssMb: Math.max(...ingest.serviceRss) },
      ratio: median(ratios),
      ratios,
    },
    queries: Object.fromEntries(Object.entries(queryResults).map(([kind, results]) => [kind, summary(results)])),
  };

  printTable(`Ingest, ${connections} connections, median of ${rounds} rounds of ${durationSeconds} s`, ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'peak RSS MB', 'ratio'], [
    ['baseline (no storage)', fixed(figures.ingest.baseline.requestsPerSecond, 0), fixed(figures.ingest.baseline.p50Ms), fixed(figures.ingest.baseline.p99Ms), String(figures.ingest.baseline.errors), fixed(figures.ingest.baseline.peakRssMb, 0), '1.00'],
    ['auditor (SQLite, FULL)', fixed(figures.ingest.service.requestsPerSecond, 0), fixed(figures.ingest.service.p50Ms), fixed(figures.ingest.service.p99Ms), String(figures.ingest.service.errors), fixed(figures.ingest.service.peakRssMb, 0), fixed(figures.ingest.ratio)],
  ]);
  printTable(`Queries over HTTP, ${QUERY_CONNECTIONS} connections, median of ${rounds} rounds`, ['query', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
    Object.entries(figures.queries).map(([kind, r]) => [kind, fixed(r.requestsPerSecond, 0), fixed(r.p50Ms), fixed(r.p99Ms), String(r.errors)]));

  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, JSON.stringify(figures, null, 2) + '\n');
  console.log(`\nFigures written to ${options.out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
