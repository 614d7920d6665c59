/**
 * npm run bench:retention: a retention run over the bench's preloaded log (1,000,000 events by
 * default, spread over 30 days), with the policy `default=1h`, so that nearly all of it expires at
 * once. Measures the events removed per second, and ingest (POST /events at 50 connections, as
 * `npm run bench` loads it) while the run goes on, against the same ingest on the same log without
 * a policy, in alternating rounds, each on a fresh copy of the preloaded file. The server is pinned
 * to one CPU (its writer thread with it), the load generator to the other.
 * The job paces itself while requests come (BUSY_SHARE), so the run's rate is reported twice: while
 * the load ran, and for the whole run, most of which comes after the load stopped.
 * Options: --events 1000000 --rounds 3 --duration 10
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from '../src/store/sqlite/sqlite-driver.js';
import { eventBody } from './fixtures.js';
import { commandExists, pickLoadGenerator } from './load.js';
import { preloadSqlite } from './preload.js';
import { fixed, median, printTable } from './report.js';
import { startServer } from './server-process.js';

const { values: options } = parseArgs({
  options: { events: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '10' } },
});
const preloadEvents = Number(options.events);
const rounds = Number(options.rounds);
const durationSeconds = Number(options.duration);
const API_KEY = 'bench-key-0123456789abcdef';
const CHAIN_SECRET = 'bench-chain-secret-0123456789abcdef';
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../src/main.js');
const SERVER_CPU = 0;
const LOAD_CPU = 1;
const POLICY = 'default=1h';
const BODIES = Array.from({ length: 1000 }, (_, n) => eventBody(n));

type RunLine = { removed: number; held: number; seconds: number };
type Round = {
  round: number;
  kind: 'without' | 'with';
  requestsPerSecond: number;
  p99Ms: number;
  errors: number;
  run?: RunLine;
  /** Events whose payload the run had removed when the ingest load stopped: its paced rate. */
  removedDuringIngest?: number;
};

/** Events removed so far, read beside the service (a reader never waits on SQLite's writer). */
function removedSoFar(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM events WHERE removed_by IS NOT NULL').pluck().get() as number;
  } finally {
    db.close();
  }
}

const taskset = (await commandExists('taskset')) && cpus().length >= 2;
if (taskset) execFileSync('taskset', ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
const load = await pickLoadGenerator();
console.log(`Load generator: ${load.name}; ${taskset ? `server on CPU ${SERVER_CPU}, load on CPU ${LOAD_CPU}` : 'not pinned'}.`);

const dir = mkdtempSync(join(tmpdir(), 'auditor-retention-bench-'));
try {
  const template = join(dir, 'template.db');
  const started = performance.now();
  preloadSqlite(template, preloadEvents, CHAIN_SECRET);
  console.log(`Preloaded ${preloadEvents} events in ${((performance.now() - started) / 1000).toFixed(1)} s (load average ${loadavg()[0]!.toFixed(2)}).`);

  const results: Round[] = [];
  for (let round = 1; round <= rounds; round++) {
    const kinds = round % 2 === 1 ? (['without', 'with'] as const) : (['with', 'without'] as const);
    for (const kind of kinds) {
      const roundDir = join(dir, `${kind}-${round}`);
      const db = join(roundDir, 'events.db');
      execFileSync('mkdir', ['-p', roundDir]);
      copyFileSync(template, db);
      let stdout = '';
      let finished: (line: RunLine) => void = () => undefined;
      const runDone = new Promise<RunLine>((resolve) => (finished = resolve));
      const env: Record<string, string> = { AUDITOR_API_KEY: API_KEY, AUDITOR_DB: db, AUDITOR_CHAIN_SECRET: CHAIN_SECRET, AUDITOR_LOG_LEVEL: 'info' };
      if (kind === 'with') Object.assign(env, { AUDITOR_RETENTION: POLICY, AUDITOR_RETENTION_INTERVAL: '1h' });
      const server = await startServer(MAIN, env, {
        taskset, cpu: SERVER_CPU,
        onStdout(chunk) {
          stdout += chunk;
          const line = /\{[^\n]*"msg":"retention run"[^\n]*\}/.exec(stdout);
          if (line !== null) finished(JSON.parse(line[0]) as RunLine);
          if (stdout.length > 1 << 20) stdout = stdout.slice(-4096); // keep the tail only: request lines pile up
        },
      });
      try {
        const result = await load.run({
          url: server.url, method: 'POST', headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
          connections: 50, durationSeconds, paths: ['/events'], bodies: BODIES, cpu: LOAD_CPU,
        });
        const entry: Round = { round, kind, requestsPerSecond: result.requestsPerSecond, p99Ms: result.p99Ms, errors: result.errors };
        if (kind === 'with') {
          entry.removedDuringIngest = removedSoFar(db);
          entry.run = await runDone;
        }
        results.push(entry);
        console.log(`round ${round} ${kind.padEnd(7)} ${result.requestsPerSecond.toFixed(0)} req/s  p99 ${result.p99Ms.toFixed(1)} ms  errors ${result.errors}` +
          (entry.run === undefined ? '' : `  removed during ingest: ${entry.removedDuringIngest}; whole run: ${entry.run.removed} in ${entry.run.seconds} s`));
      } finally {
        await server.stop();
        rmSync(roundDir, { recursive: true, force: true });
      }
    }
  }

  const ofKind = (kind: Round['kind']) => results.filter((r) => r.kind === kind);
  const ratios = Array.from({ length: rounds }, (_, i) => ofKind('with')[i]!.requestsPerSecond / ofKind('without')[i]!.requestsPerSecond);
  printTable(`Ingest while a retention run removes ~${preloadEvents.toLocaleString('en')} payloads (${POLICY}), ${durationSeconds} s rounds, medians`, ['', 'req/s', 'p99 ms', 'errors'],
    (['without', 'with'] as const).map((kind) => [
      kind === 'with' ? 'during a retention run' : 'no policy',
      fixed(median(ofKind(kind).map((r) => r.requestsPerSecond)), 0),
      fixed(median(ofKind(kind).map((r) => r.p99Ms)), 1),
      String(ofKind(kind).reduce((sum, r) => sum + r.errors, 0)),
    ]));
  const runs = ofKind('with').map((r) => r.run!);
  console.log(`ingest during the run / without: ${fixed(median(ratios))} (per round ${ratios.map((r) => fixed(r)).join(' ')})`);
  const paced = ofKind('with').map((r) => r.removedDuringIngest! / durationSeconds);
  console.log(`removal while ingest ran (paced): ${fixed(median(paced), 0)} events/s (per round ${paced.map((r) => fixed(r, 0)).join(' ')})`);
  console.log(`whole run, mostly after the load stopped (unpaced): ${runs.map((r) => `${r.removed} in ${r.seconds} s`).join(', ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
