/**
 * npm run bench: the real service against a baseline in the same run, on a preloaded database.
 * Options: --rounds 3 --duration 10 --events 1000000 --connections 50 --load wrk|autocannon
 *          --out bench/results/latest.json
 *          --db postgres [--postgres-url postgres://…]: also measures the service on PostgreSQL, in
 *          the same run, on a copy of the same preloaded events (the URL defaults to
 *          AUDITOR_BENCH_POSTGRES_URL; the bench works in a schema of its own and drops it after).
 *          --without-tree-from afb5ffa: the revision whose service the ingest with the Merkle tree
 *          is compared with, built from this repository's history (none: no comparison).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from '../src/store/sqlite/sqlite-driver.js';
import { measureChainMicroseconds, measureKeyHashingMicroseconds, measurePlanMicroseconds } from './chain-cost.js';
import { measureCompressedExports, type CodedExportSummary } from './compressed-exports.js';
import { measureCodingLevels, measureExport, type CodingLevel, type ExportResult } from './exports.js';
import { HOT_EVERY, HOT_USER, eventBody, typicalUser } from './fixtures.js';
import { runIngest, type IngestRound, type ServerUnderTest } from './ingest.js';
import { commandExists, pickLoadGenerator, type LoadResult } from './load.js';
import { createPostgresTarget, type PostgresTarget } from './postgres-target.js';
import { preloadSqlite } from './preload.js';
import { loadSigningKey, signingKeyPath } from '../src/integrity/signing-key.js';
import { latestCheckpointSize, spreadEventIds, treeReadPaths, verifierKey } from './proofs.js';
import { fixed, median, printTable } from './report.js';
import { startServer, type RunningServer } from './server-process.js';
import { measureVerify, type VerifyRun } from './verify-rate.js';
import { BEFORE_TREE, buildOlderRevision, type OlderBuild } from './without-tree.js';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    events: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '50' },
    load: { type: 'string' },
    out: { type: 'string', default: 'bench/results/latest.json' },
    db: { type: 'string', default: 'sqlite' },
    'postgres-url': { type: 'string' },
    'without-tree-from': { type: 'string', default: BEFORE_TREE },
    help: { type: 'boolean', short: 'h' },
  },
});
if (options.help === true) {
  process.stdout.write(`usage: npm run bench -- [--rounds 3] [--duration 10] [--events 1000000] [--connections 50]
                        [--load wrk|autocannon] [--out bench/results/latest.json]
                        [--db postgres [--postgres-url postgres://…]] [--without-tree-from afb5ffa|none]
Measures the service against bare node:http baselines in the same run, on a preloaded database
(see bench/README.md).
`);
  process.exit(0);
}
if (options.db !== 'sqlite' && options.db !== 'postgres') throw new Error(`--db must be sqlite or postgres, not ${options.db}`);
const postgresUrl = options.db === 'postgres' ? (options['postgres-url'] ?? process.env.AUDITOR_BENCH_POSTGRES_URL) : undefined;
if (options.db === 'postgres' && postgresUrl === undefined) {
  throw new Error('--db postgres needs a server: --postgres-url postgres://user:password@host:port/database (or AUDITOR_BENCH_POSTGRES_URL)');
}
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
/** The data field the query phase declares (AUDITOR_INDEXED_FIELDS): the sparse one. */
const DECLARED_FIELDS = 'flag';
/** Events whose inclusion proofs are asked for, spread over the whole log. */
const PROOF_SAMPLE = 4096;
/** The tree's read measurements, and the reference they are held to. */
const TREE_READS = {
  baseline: 'bare node:http, GET /events/{id}',
  byId: 'GET /events/{id}',
  inclusion: 'GET /events/{id}/proof?size=N',
  consistency: 'GET /proofs/consistency?from=M&to=N',
  checkpoint: 'GET /checkpoint',
} as const;
const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '../src/main.js');
const VERIFY = join(here, '../src/cli/verify.js');
const BASELINE = join(here, 'baseline-server.js');
const INGEST_BARE = join(here, 'ingest-bare-server.js');
const READ_BASELINE = join(here, 'read-baseline-server.js');
const QUERY_BASELINE = join(here, 'query-baseline-server.js');
/** The typical users whose answers the throughput of reads is measured on. */
const TYPICAL_READS = Array.from({ length: 1000 }, (_, n) => `/events?user_id=${typicalUser(n * 7)}`);
/** This checkout: the build's folder sits in it. */
const REPOSITORY = join(here, '../..');
/** The machine's load averages (1, 5, 15 min), said beside each measurement: the machine is shared. */
const load1 = () => loadavg()[0]!;
/** An instant `hours` before now, as a query names it. */
const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
const machineLoad = () => `load average ${loadavg().map((n) => n.toFixed(2)).join(', ')}`;

const taskset = (await commandExists('taskset')) && cpus().length >= 2;
if (taskset) execFileSync('taskset', ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
const load = await pickLoadGenerator(options.load);
console.log(
  `Load generator: ${load.name}. ` +
    (taskset ? `Server pinned to CPU ${SERVER_CPU}, load generator to CPU ${LOAD_CPU} (taskset).` : 'Not pinned (no taskset or one CPU).'),
);

const dir = mkdtempSync(join(tmpdir(), 'auditor-bench-'));
const dbPath = join(dir, 'events.db');
let postgres: PostgresTarget | undefined;
let older: OlderBuild | undefined;
try {
  console.log(`Preloading (${machineLoad()}).`);
  const preloadLoad = load1();
  const started = performance.now();
  preloadSqlite(dbPath, preloadEvents, CHAIN_SECRET);
  const preloadSeconds = (performance.now() - started) / 1000;
  console.log(`Preloaded ${preloadEvents} events with their Merkle tree leaves in ${preloadSeconds.toFixed(1)} s.`);
  const env = { AUDITOR_API_KEY: API_KEY, AUDITOR_DB: dbPath, AUDITOR_CHAIN_SECRET: CHAIN_SECRET };

  // The service as it was before the tree, on a file of its own schema made by its own preload
  // (the same events, but for the ids' random bits): it refuses a database of a newer schema.
  const withoutTreeFrom = options['without-tree-from'];
  let withoutTree: { revision: string; commit?: string; skipped?: string; preloadSeconds?: number; preloadLoad?: number } | undefined;
  let olderEnv: Record<string, string> | undefined;
  if (withoutTreeFrom !== 'none') {
    const built = buildOlderRevision(REPOSITORY, withoutTreeFrom);
    if ('skipped' in built) {
      console.log(`No comparison with the service before the tree: ${built.skipped}.`);
      withoutTree = { revision: withoutTreeFrom, skipped: built.skipped };
    } else {
      older = built;
      const olderDb = join(dir, 'without-tree', 'events.db');
      const olderLoad = load1();
      const olderStarted = performance.now();
      await older.preload(olderDb, preloadEvents, CHAIN_SECRET);
      const olderSeconds = (performance.now() - olderStarted) / 1000;
      console.log(`Built ${withoutTreeFrom} (${older.commit.slice(0, 12)}), the service before the tree; its own preload wrote ${preloadEvents} events without the tree in ${olderSeconds.toFixed(1)} s (${machineLoad()}).`);
      withoutTree = { revision: withoutTreeFrom, commit: older.commit, preloadSeconds: olderSeconds, preloadLoad: olderLoad };
      olderEnv = { ...env, AUDITOR_DB: olderDb };
    }
  }
  const serverOptions = { taskset, cpu: SERVER_CPU };
  // The same events in PostgreSQL, copied as a user moving over would (the server's own processes
  // are not pinned: they share both cores with the service and the load generator).
  let postgresEnv: Record<string, string> | undefined;
  if (postgresUrl !== undefined) {
    const copyStarted = performance.now();
    postgres = await createPostgresTarget(postgresUrl);
    await postgres.copyFrom(dbPath, CHAIN_SECRET);
    console.log(`Copied them to PostgreSQL in ${((performance.now() - copyStarted) / 1000).toFixed(1)} s.`);
    // Instances on PostgreSQL sign with a key file they are given: the one the SQLite service makes beside its file.
    const signingKeyFile = signingKeyPath(dbPath);
    loadSigningKey(signingKeyFile, { origin: undefined, create: true });
    postgresEnv = { ...env, AUDITOR_DB: postgres.url, AUDITOR_SIGNING_KEY_FILE: signingKeyFile };
  }

  // Exports first, on a fresh process, so its peak RSS is theirs.
  const exports: Record<string, ExportResult> = {};
  let compressedExports: Record<string, CodedExportSummary> = {};
  let codingLevels: CodingLevel[] = [];
  const exporter = await startServer(MAIN, env, serverOptions);
  let logKey: string;
  try {
    logKey = await verifierKey(exporter, API_KEY);
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
    // What compression costs: the same answers uncoded and coded, then each coding's levels on a sample.
    compressedExports = await measureCompressedExports(exporter, [
      { name: 'typical user, CSV', path: `/events?user_id=${typicalUser(7)}`, accept: 'text/csv' },
      { name: 'hot user, NDJSON', path: `/events?user_id=${HOT_USER}`, accept: 'application/x-ndjson' },
      { name: 'hot user, CSV', path: `/events?user_id=${HOT_USER}`, accept: 'text/csv' },
    ], rounds, API_KEY);
    const sample = await fetch(`${exporter.url}/events?user_id=${HOT_USER}&limit=10000`, { headers: { 'X-API-Key': API_KEY, Accept: 'application/x-ndjson', 'Accept-Encoding': 'identity' } });
    codingLevels = measureCodingLevels(Buffer.from(await sample.arrayBuffer()));
  } finally {
    await exporter.stop();
  }

  // Typical users' answers at `connections` connections, the service alternating with the bare
  // read baseline (query-baseline-server.ts), each a fresh process each round, on the preloaded
  // events (measured before the ingest adds more).
  await requireSameAnswers(QUERY_BASELINE, MAIN, env, serverOptions, TYPICAL_READS.slice(0, 20));
  console.log(`Typical-user reads at ${connections} connections (${machineLoad()}).`);
  const readsLoad = load1();
  const readRounds = await runIngest({
    load, headers: HEADERS, connections, rounds, durationSeconds, method: 'GET', paths: TYPICAL_READS,
    servers: { baseline: { script: QUERY_BASELINE, env }, service: { script: MAIN, env } },
    pin: { taskset, serverCpu: SERVER_CPU, loadCpu: LOAD_CPU },
  });
  const eventsPerTypicalRead = meanEventsPerUser(dbPath, TYPICAL_READS.map((path) => new URLSearchParams(path.split('?')[1]).get('user_id')!));

  // npm run verify over the preloaded log (exports add no events), the service stopped, given
  // every core back (this process, and so its children, is pinned to the load generator's).
  const verifyRuns: VerifyRun[] = [];
  const verifyLoads: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    verifyLoads.push(load1());
    const result = await measureVerify(VERIFY, env, preloadEvents, logKey, taskset ? `0-${cpus().length - 1}` : undefined);
    verifyRuns.push(result);
    console.log(`round ${round} npm run verify  ${fixed(result.wallSeconds)} s  ${fixed(result.eventsPerSecond, 0)} events/s  exit ${result.exitCode}  (${machineLoad()})${result.reportedRates.map((line) => `\n    verify said: ${line}`).join('')}`);
  }

  console.log(`Ingest (${machineLoad()}).`);
  const ingestLoad = load1();
  // The reference is bare node:http doing the request's own work (ingest-bare-server.ts); the app
  // without storage (baseline-server.ts) shows what the request path adds to it, the service what
  // storage adds, on one core, then with the writer thread free to use the load generator's core.
  const ingestServers: Record<string, ServerUnderTest> = {
    bare: { script: INGEST_BARE, env },
    baseline: { script: BASELINE, env },
    service: { script: MAIN, env },
    'writer free': { script: MAIN, env, cpus: `${SERVER_CPU},${LOAD_CPU}`, mainThreadCpu: SERVER_CPU },
    ...(postgresEnv === undefined ? {} : { postgres: { script: MAIN, env: postgresEnv } }),
    ...(olderEnv === undefined ? {} : { 'no tree': { script: older!.main, env: olderEnv } }),
  };
  await requireSameIngestAnswer(INGEST_BARE, MAIN, env, serverOptions, eventBody(0));
  const ingest = await runIngest({
    load, headers: HEADERS, connections, rounds, durationSeconds,
    servers: ingestServers,
    pin: { taskset, serverCpu: SERVER_CPU, loadCpu: LOAD_CPU },
    bodies: Array.from({ length: 4096 }, (_, n) => eventBody(n)),
  });

  // Batch ingest: the same events, 100 to a POST /events/batch, against the real service (and the
  // build before the tree), alternating as the single-event ingest does.
  console.log(`Batch ingest (${machineLoad()}).`);
  const batchLoad = load1();
  const batches = Array.from({ length: 256 }, (_, b) => `[${Array.from({ length: BATCH_SIZE }, (_, i) => eventBody(b * BATCH_SIZE + i)).join(',')}]`);
  const batchIngest = await runIngest({
    load, headers: HEADERS, connections, rounds, durationSeconds,
    servers: Object.fromEntries(Object.entries(ingestServers).filter(([kind]) => !['bare', 'baseline', 'writer free'].includes(kind))),
    path: '/events/batch',
    eventsPerRequest: BATCH_SIZE,
    pin: { taskset, serverCpu: SERVER_CPU, loadCpu: LOAD_CPU },
    bodies: batches,
  });
  const batchResults = (kind: string) => batchIngest.filter((r) => r.kind === kind).map((r) => r.result);

  // Queries over HTTP against the real service on the preloaded (and now larger) table.
  const queryKinds: Record<string, (n: number) => string> = {
    'typical user': (n) => `/events?user_id=${typicalUser(n)}`,
    'typical user + event_type': (n) => `/events?user_id=${typicalUser(n)}&event_type=login`,
    'typical user + data filter': (n) => `/events?user_id=${typicalUser(n)}&status=failed`,
    'typical user, newest 20': (n) => `/events?user_id=${typicalUser(n)}&order=desc&limit=20`,
    'hot user + sparse declared field': () => HOT_SPARSE_FILTER,
    'all users + sparse declared field, first 100': () => '/events?flag=rare&limit=100',
    'all users, event_type + last 24 h, first 100': () => `/events?event_type=login&since=${hoursAgo(24)}`,
    'all users, last hour, first 100': () => `/events?since=${hoursAgo(1)}`,
    'summary by event_type, last 24 h': () => `/events/summary?group_by=event_type&since=${hoursAgo(24)}`,
  };
  const queryResults: Record<string, LoadResult[]> = {};
  const postgresQueryResults: Record<string, LoadResult[]> = {};
  const treeReadResults: Record<string, LoadResult[]> = {};
  /** One client's GETs over `paths`, after a second's warm-up. */
  const measureReads = async (server: RunningServer, paths: readonly string[]) => {
    const spec = { url: server.url, method: 'GET' as const, headers: HEADERS, connections: QUERY_CONNECTIONS, paths, cpu: LOAD_CPU };
    await load.run({ ...spec, durationSeconds: 1 });
    return load.run({ ...spec, durationSeconds: Math.max(3, Math.round(durationSeconds / 2)) });
  };
  const runQuery = async (server: RunningServer, database: 'SQLite' | 'PostgreSQL', kind: string, path: (n: number) => string) => {
    const results = database === 'PostgreSQL' ? postgresQueryResults : queryResults;
    const result = await measureReads(server, Array.from({ length: 1000 }, (_, n) => path(n * 7)));
    (results[kind] ??= []).push(result);
    const label = database === 'PostgreSQL' ? `PostgreSQL: ${kind}` : kind;
    console.log(`${label.padEnd(46)} ${fixed(result.requestsPerSecond, 0)} req/s  p50 ${fixed(result.p50Ms)} ms  p99 ${fixed(result.p99Ms)} ms  errors ${result.errors}`);
  };
  if (postgresEnv !== undefined) {
    const server = await startServer(MAIN, { ...postgresEnv, AUDITOR_INDEXED_FIELDS: DECLARED_FIELDS }, serverOptions);
    try {
      for (let round = 1; round <= rounds; round++) {
        for (const [kind, path] of Object.entries(queryKinds)) await runQuery(server, 'PostgreSQL', kind, path);
      }
    } finally {
      await server.stop();
    }
  }
  console.log(`Queries (${machineLoad()}).`);
  const queryLoad = load1();
  let treeReadLoad = Number.NaN;
  let treeSize = Number.NaN;
  // Started with the sparse field declared: the start indexes it, as an operator's would.
  const indexStarted = performance.now();
  const server = await startServer(MAIN, { ...env, AUDITOR_INDEXED_FIELDS: DECLARED_FIELDS }, serverOptions);
  const indexingStartSeconds = (performance.now() - indexStarted) / 1000;
  console.log(`Started with ${DECLARED_FIELDS} declared (indexed at start-up) in ${indexingStartSeconds.toFixed(1)} s.`);
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [kind, path] of Object.entries(queryKinds)) await runQuery(server, 'SQLite', kind, path);
    }
    // The tree's reads at the size of the checkpoint this process signed as it started (so no
    // request signs one), over events spread over the whole log, alternating with the bare read
    // baseline on the same file, kind by kind in each round.
    treeSize = await latestCheckpointSize(server, API_KEY);
    const treePaths = treeReadPaths(spreadEventIds(dbPath, treeSize, PROOF_SAMPLE), treeSize);
    const readBaseline = await startServer(READ_BASELINE, env, serverOptions);
    try {
      console.log(`Tree reads at size ${treeSize} (${machineLoad()}).`);
      treeReadLoad = load1();
      const treeReads: ReadonlyArray<readonly [string, RunningServer, readonly string[]]> = [
        [TREE_READS.baseline, readBaseline, treePaths.byId],
        [TREE_READS.byId, server, treePaths.byId],
        [TREE_READS.inclusion, server, treePaths.inclusion],
        [TREE_READS.consistency, server, treePaths.consistency],
        [TREE_READS.checkpoint, server, treePaths.checkpoint],
      ];
      for (let round = 1; round <= rounds; round++) {
        for (const [kind, target, paths] of treeReads) {
          const result = await measureReads(target, paths);
          (treeReadResults[kind] ??= []).push(result);
          console.log(`round ${round} ${kind.padEnd(40)} ${fixed(result.requestsPerSecond, 0)} req/s  p50 ${fixed(result.p50Ms)} ms  p99 ${fixed(result.p99Ms)} ms  errors ${result.errors}`);
        }
      }
    } finally {
      await readBaseline.stop();
    }
  } finally {
    await server.stop();
  }

  const chainMicroseconds = measureChainMicroseconds(CHAIN_SECRET);
  const planMicroseconds = measurePlanMicroseconds(CHAIN_SECRET);
  const keyHashingMicroseconds = measureKeyHashingMicroseconds();

  // Report medians, with the ratio taken per round (each pair ran back to back) then its median.
  const of = (kind: string) => ingest.filter((r) => r.kind === kind);
  const inRound = (kind: string, round: number) => of(kind).find((r) => r.round === round)!.result.requestsPerSecond;
  const roundNumbers = of('service').map((r) => r.round);
  const ratios = roundNumbers.map((round) => inRound('service', round) / inRound('baseline', round));
  /** The median over rounds of `kind`'s requests/s over `reference`'s in the same round. */
  const ingestRatio = (kind: string, reference: string) => median(roundNumbers.map((round) => inRound(kind, round) / inRound(reference, round)));
  /** An ingest server's medians, its peak RSS and CPU per request. */
  const ingestSummary = (kind: string) => ({
    ...summary(of(kind).map((r) => r.result)),
    peakRssMb: Math.max(...of(kind).map((r) => r.peakRssMb)),
    cpuMicrosPerRequest: median(of(kind).map((r) => r.cpuMicrosPerRequest)),
  });
  /** Per round, the rate of `kind` over that of `reference` in the same round. */
  const roundRatios = (results: IngestRound[], kind: string, reference: string) =>
    roundNumbers.map((round) => {
      const rate = (k: string) => results.find((r) => r.kind === k && r.round === round)?.result.requestsPerSecond ?? Number.NaN;
      return rate(kind) / rate(reference);
    });
  /** The with-tree and without-tree figures of one ingest, per round and their medians. */
  const treeCost = (results: IngestRound[], eventsPerRequest: number) => {
    const rates = (kind: string) => results.filter((r) => r.kind === kind).map((r) => r.result.requestsPerSecond * eventsPerRequest);
    const perRound = roundRatios(results, 'service', 'no tree');
    return {
      withTree: { eventsPerSecond: median(rates('service')), rounds: rates('service') },
      withoutTree: { eventsPerSecond: median(rates('no tree')), rounds: rates('no tree') },
      ratio: median(perRound),
      ratios: perRound,
    };
  };
  /** Per round, a read's latency over that of the `reference` read in the same round; their median. */
  const latencyRatio = (kind: string, percentile: 'p50Ms' | 'p99Ms', reference: string) => {
    const ofKind = treeReadResults[kind] ?? [];
    return median(ofKind.map((r, round) => r[percentile] / (treeReadResults[reference]?.[round]?.[percentile] ?? Number.NaN)));
  };
  const readsOf = (kind: string) => readRounds.filter((r) => r.kind === kind).map((r) => r.result);
  const readRatios = roundRatios(readRounds, 'service', 'baseline');
  const batchSummary = (results: LoadResult[]) => ({
    batchSize: BATCH_SIZE,
    ...summary(results),
    eventsPerSecond: median(results.map((r) => r.requestsPerSecond * BATCH_SIZE)),
  });
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
      bare: ingestSummary('bare'),
      baseline: ingestSummary('baseline'),
      service: ingestSummary('service'),
      writerFree: ingestSummary('writer free'),
      /** The service over the app without storage: what storage costs (as before issue 15). */
      ratio: median(ratios),
      ratios,
      // Against bare node:http (issue 15), per round then the median; the p99 likewise.
      appToBare: ingestRatio('baseline', 'bare'),
      serviceToBare: ingestRatio('service', 'bare'),
      writerFreeToBare: ingestRatio('writer free', 'bare'),
      serviceP99ToBare: median(roundNumbers.map((round) => of('service').find((r) => r.round === round)!.result.p99Ms / of('bare').find((r) => r.round === round)!.result.p99Ms)),
    },
    queries: Object.fromEntries(Object.entries(queryResults).map(([kind, results]) => [kind, summary(results)])),
    /** How long the query phase's service took to start, indexing the declared field over the whole log. */
    queryStartWithIndexSeconds: indexingStartSeconds,
    // Typical users' answers at `connections` connections, against the bare read baseline (issue 14).
    typicalReads: {
      eventsPerAnswer: eventsPerTypicalRead,
      baseline: { ...summary(readsOf('baseline')), cpuMicrosPerRequest: median(readRounds.filter((r) => r.kind === 'baseline').map((r) => r.cpuMicrosPerRequest)) },
      service: { ...summary(readsOf('service')), cpuMicrosPerRequest: median(readRounds.filter((r) => r.kind === 'service').map((r) => r.cpuMicrosPerRequest)) },
      ratio: median(readRatios),
      ratios: readRatios,
      p99Ratio: median(readsOf('service').map((r, i) => r.p99Ms / (readsOf('baseline')[i]?.p99Ms ?? Number.NaN))),
    },
    exports,
    // Issue 16: exports coded (gzip, brotli) against uncoded, and the levels the service's were chosen from.
    compression: { answers: compressedExports, levels: codingLevels },
    chain: { microsecondsPerEvent: chainMicroseconds, planMicrosecondsPerEvent: planMicroseconds, shareOfIngestTime: 0 },
    keyHashing: { microsecondsPerRequest: keyHashingMicroseconds },
    batchIngest: batchSummary(batchResults('service')),
    // Beside SQLite's, from the same run: the service on PostgreSQL (--db postgres).
    postgres: postgresEnv === undefined ? undefined : {
      ingest: {
        ...summary(of('postgres').map((r) => r.result)),
        peakRssMb: Math.max(...of('postgres').map((r) => r.peakRssMb)),
        cpuMicrosPerRequest: median(of('postgres').map((r) => r.cpuMicrosPerRequest)),
        ratio: median(roundNumbers.map((round) => inRound('postgres', round) / inRound('baseline', round))),
        ratioToBare: ingestRatio('postgres', 'bare'),
        ratioToSqlite: median(roundNumbers.map((round) => inRound('postgres', round) / inRound('service', round))),
      },
      batchIngest: batchSummary(batchResults('postgres')),
      queries: Object.fromEntries(Object.entries(postgresQueryResults).map(([kind, results]) => [kind, summary(results)])),
    },
    preload: { seconds: preloadSeconds, load: preloadLoad },
    // The load average (1 min) as each measurement began: the machine is shared.
    loadAverages: { typicalReads: readsLoad, ingest: ingestLoad, batchIngest: batchLoad, queries: queryLoad, treeReads: treeReadLoad, verify: verifyLoads },
    // What the Merkle tree costs and serves (issue 13).
    tree: {
      withoutTree,
      ingest: older === undefined ? undefined : treeCost(ingest, 1),
      batchIngest: older === undefined ? undefined : treeCost(batchIngest, BATCH_SIZE),
      reads: {
        treeSize,
        events: PROOF_SAMPLE,
        byKind: Object.fromEntries(Object.entries(treeReadResults).map(([kind, results]) => [kind, {
          ...summary(results),
          p50ToBaseline: latencyRatio(kind, 'p50Ms', TREE_READS.baseline),
          p99ToBaseline: latencyRatio(kind, 'p99Ms', TREE_READS.baseline),
          p50ToGetById: latencyRatio(kind, 'p50Ms', TREE_READS.byId),
          p99ToGetById: latencyRatio(kind, 'p99Ms', TREE_READS.byId),
        }])),
      },
      verify: {
        events: preloadEvents,
        wallSeconds: median(verifyRuns.map((r) => r.wallSeconds)),
        eventsPerSecond: median(verifyRuns.map((r) => r.eventsPerSecond)),
        runs: verifyRuns,
      },
    },
  };
  // The share of each ingested event's time on the server that chaining takes.
  figures.chain.shareOfIngestTime = chainMicroseconds / (1e6 / figures.ingest.service.requestsPerSecond);

  const { bare, baseline, service, writerFree } = figures.ingest;
  const ingestRow = (label: string, r: typeof bare, toBare: string, toApp: string) =>
    [label, fixed(r.requestsPerSecond, 0), fixed(r.p50Ms), fixed(r.p99Ms), String(r.errors), fixed(r.peakRssMb, 0), fixed(r.cpuMicrosPerRequest, 1), toBare, toApp];
  printTable(`Ingest, ${connections} connections, median of ${rounds} rounds of ${durationSeconds} s (load average ${fixed(ingestLoad)} at the start)`,
    ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'peak RSS MB', 'CPU µs/request', '× bare', '× app without storage'], [
      ingestRow('bare node:http (the reference)', bare, '1.00', ''),
      ingestRow('app without storage', baseline, fixed(figures.ingest.appToBare), '1.00'),
      ingestRow('auditor (SQLite, FULL), one core', service, fixed(figures.ingest.serviceToBare), fixed(figures.ingest.ratio)),
      ingestRow('auditor (SQLite), writer free', writerFree, fixed(figures.ingest.writerFreeToBare), ''),
      [`auditor, batches of ${BATCH_SIZE} (events/s)`, fixed(figures.batchIngest.eventsPerSecond, 0), fixed(figures.batchIngest.p50Ms), fixed(figures.batchIngest.p99Ms), String(figures.batchIngest.errors), '', '', '', ''],
      ...(figures.postgres === undefined ? [] : [
        ['auditor (PostgreSQL)', fixed(figures.postgres.ingest.requestsPerSecond, 0), fixed(figures.postgres.ingest.p50Ms), fixed(figures.postgres.ingest.p99Ms), String(figures.postgres.ingest.errors), fixed(figures.postgres.ingest.peakRssMb, 0), fixed(figures.postgres.ingest.cpuMicrosPerRequest, 1), fixed(figures.postgres.ingest.ratioToBare), fixed(figures.postgres.ingest.ratio)],
        [`PostgreSQL, batches of ${BATCH_SIZE} (events/s)`, fixed(figures.postgres.batchIngest.eventsPerSecond, 0), fixed(figures.postgres.batchIngest.p50Ms), fixed(figures.postgres.batchIngest.p99Ms), String(figures.postgres.batchIngest.errors), '', '', '', ''],
      ]),
    ]);
  console.log(`The service's ingest p99 is ${fixed(figures.ingest.serviceP99ToBare, 1)}× bare node:http's (median over rounds).`);
  const { typicalReads } = figures;
  printTable(`Typical-user reads (GET /events?user_id=…, ${fixed(eventsPerTypicalRead, 0)} events on average), ${connections} connections, median of ${rounds} rounds of ${durationSeconds} s (load average ${fixed(readsLoad)} at the start)`,
    ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/request', 'ratio', 'ratio per round'], [
      ['bare node:http, one prepared statement', fixed(typicalReads.baseline.requestsPerSecond, 0), fixed(typicalReads.baseline.p50Ms), fixed(typicalReads.baseline.p99Ms), String(typicalReads.baseline.errors), fixed(typicalReads.baseline.cpuMicrosPerRequest, 1), '1.00', ''],
      ['auditor (SQLite)', fixed(typicalReads.service.requestsPerSecond, 0), fixed(typicalReads.service.p50Ms), fixed(typicalReads.service.p99Ms), String(typicalReads.service.errors), fixed(typicalReads.service.cpuMicrosPerRequest, 1), fixed(typicalReads.ratio), typicalReads.ratios.map((r) => fixed(r)).join(' ')],
    ]);
  const postgresQueries = figures.postgres?.queries ?? {};
  printTable(`Queries over HTTP, ${QUERY_CONNECTIONS} connection, median of ${rounds} rounds`,
    ['query', 'req/s', 'p50 ms', 'p99 ms', 'errors', ...(figures.postgres === undefined ? [] : ['PostgreSQL p50 ms', 'PostgreSQL p99 ms'])],
    Object.entries(figures.queries).map(([kind, r]) => [
      kind, fixed(r.requestsPerSecond, 0), fixed(r.p50Ms), fixed(r.p99Ms), String(r.errors),
      ...(figures.postgres === undefined ? [] : postgresQueries[kind] === undefined ? ['', ''] : [fixed(postgresQueries[kind]!.p50Ms), fixed(postgresQueries[kind]!.p99Ms)]),
    ]));
  const { tree } = figures;
  if (tree.ingest !== undefined && tree.batchIngest !== undefined) {
    const cost = (label: string, c: NonNullable<typeof tree.ingest>) =>
      [label, fixed(c.withTree.eventsPerSecond, 0), fixed(c.withoutTree.eventsPerSecond, 0), fixed(c.ratio, 3), c.ratios.map((r) => fixed(r, 3)).join(' ')];
    printTable(`Ingest with the Merkle tree against without it (${withoutTree?.revision}), events/s, median of ${rounds} rounds (load average ${fixed(ingestLoad)} at the start)`,
      ['ingest', 'with the tree', 'without', 'ratio', 'ratio per round'],
      [cost('single events, 50 connections', tree.ingest), cost(`batches of ${BATCH_SIZE}`, tree.batchIngest)]);
  } else {
    console.log(`\nIngest with the Merkle tree against without it: not measured (${withoutTree?.skipped ?? '--without-tree-from none'}).`);
  }
  printTable(`Tree reads at size ${treeSize}, ${QUERY_CONNECTIONS} connection, median of ${rounds} rounds (load average ${fixed(treeReadLoad)} at the start)`,
    ['read', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'p50, p99 × bare baseline', 'p50, p99 × GET /events/{id}'],
    Object.entries(tree.reads.byKind).map(([kind, r]) => [
      kind, fixed(r.requestsPerSecond, 0), fixed(r.p50Ms), fixed(r.p99Ms), String(r.errors),
      `${fixed(r.p50ToBaseline)}, ${fixed(r.p99ToBaseline)}`, `${fixed(r.p50ToGetById)}, ${fixed(r.p99ToGetById)}`,
    ]));
  printTable(`npm run verify over ${preloadEvents} events, ${rounds} runs (load averages ${verifyLoads.map((l) => fixed(l)).join(', ')} at their starts)`,
    ['run', 'wall s', 'events/s (wall)', 'exit', 'verify said'],
    verifyRuns.map((r, i) => [String(i + 1), fixed(r.wallSeconds), fixed(r.eventsPerSecond, 0), String(r.exitCode), r.reportedRates.join(' | ')]));
  printTable('Whole answers, streamed', ['answer', 'events', 'MB', 'first byte ms', 'total ms', 'server peak RSS MB'],
    Object.entries(exports).map(([name, r]) => [name, String(r.events), fixed(r.megabytes, 1), fixed(r.timeToFirstByteMs), fixed(r.totalMs, 0), fixed(r.serverPeakRssMb, 0)]));

  printTable(`Exports uncoded and coded, median of ${rounds} rounds (throughput ratio: uncoded time / coded time, per round)`,
    ['answer', 'events', 'MB', 'coding', 'MB on the wire', 'total ms', 'server CPU ms', 'ratio', 'ratio per round'],
    Object.entries(compressedExports).flatMap(([name, r]) => Object.entries(r.byCoding).map(([coding, c]) => [
      name, String(r.events), fixed(r.megabytes, 2), coding, fixed(c.wireMegabytes, 2), fixed(c.totalMs, 0), fixed(c.serverCpuMs, 0),
      coding === 'identity' ? '1' : fixed(r.throughputRatio[coding]!), coding === 'identity' ? '' : r.throughputRatios[coding]!.map((x) => fixed(x)).join(' '),
    ])));
  printTable('Codings on 10,000 events of NDJSON, in this process (one core)', ['coding', 'level', 'coded / plain', 'plain MB per CPU second'],
    codingLevels.map((l) => [l.coding, String(l.level), fixed(l.ratio, 3), fixed(l.megabytesPerCpuSecond, 0)]));

  console.log(`\nTamper-evident chain: ${fixed(chainMicroseconds)} µs of CPU per event, ${fixed(figures.chain.shareOfIngestTime * 100, 1)}% of the time per ingested event; planning a commit takes ${fixed(planMicroseconds)} µs per event, the chain included.`);
  console.log(`Keys kept as digests: ${fixed(keyHashingMicroseconds)} µs of CPU per request for hashing the presented key.`);

  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, JSON.stringify(figures, null, 2) + '\n');
  console.log(`\nFigures written to ${options.out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  older?.remove();
  await postgres?.drop();
}

/** How many events the users have on average, read from the SQLite file. */
function meanEventsPerUser(path: string, users: readonly string[]): number {
  const db = new Database(path, { readonly: true });
  try {
    const count = db.prepare('SELECT count(*) FROM events WHERE user_id = ?').pluck();
    return users.reduce((sum, user) => sum + (count.get(user) as number), 0) / users.length;
  } finally {
    db.close();
  }
}

/**
 * Throws unless the bare ingest server at `bareScript` answers a POST of `body` as the service
 * does: the same status, the same headers (but for their values that name the new event, and the
 * connection's own), the same body but for the id. A reference that sent less would flatter it.
 */
async function requireSameIngestAnswer(
  bareScript: string,
  serviceScript: string,
  env: Record<string, string>,
  options: { taskset: boolean; cpu: number },
  body: string,
): Promise<void> {
  const answer = async (script: string) => {
    const server = await startServer(script, env, options);
    try {
      const response = await fetch(`${server.url}/events`, { method: 'POST', headers: HEADERS, body });
      const text = await response.text();
      const { id } = JSON.parse(text) as { id: string };
      const headers = [...response.headers]
        .filter(([name]) => !['date', 'connection', 'keep-alive', 'x-request-id'].includes(name))
        .map(([name, value]) => `${name}: ${value.replaceAll(id, '<id>')}`)
        .sort();
      return [String(response.status), response.headers.has('x-request-id') ? 'x-request-id' : '', ...headers, text.replaceAll(id, '<id>')].join('\n');
    } finally {
      await server.stop();
    }
  };
  const [bare, service] = [await answer(bareScript), await answer(serviceScript)];
  if (bare !== service) throw new Error(`the bare ingest server answers a POST otherwise than the service:\n${bare}\n---\n${service}`);
}

/**
 * Throws unless the baseline at `baselineScript` answers `paths` with the bytes (and content type)
 * the service answers: a baseline that sent less would flatter it.
 */
async function requireSameAnswers(
  baselineScript: string,
  serviceScript: string,
  env: Record<string, string>,
  options: { taskset: boolean; cpu: number },
  paths: readonly string[],
): Promise<void> {
  const answers = async (script: string) => {
    const server = await startServer(script, env, options);
    try {
      return await Promise.all(paths.map(async (path) => {
        const response = await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': API_KEY } });
        return `${response.status} ${response.headers.get('content-type')}\n${await response.text()}`;
      }));
    } finally {
      await server.stop();
    }
  };
  const [baseline, service] = [await answers(baselineScript), await answers(serviceScript)];
  const differing = paths.findIndex((_, i) => baseline[i] !== service[i]);
  if (differing !== -1) throw new Error(`the read baseline answers ${paths[differing]} otherwise than the service`);
}
