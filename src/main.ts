import type { ServerResponse } from 'node:http';
import { createApp } from './app.js';
import { createKeyRegistry, type KeyRegistry } from './auth/key-registry.js';
import { createRateLimiter } from './auth/rate-limiter.js';
import { generateKey, hashKey, readKeysFile } from './auth/keys-file.js';
import { fail, startEntryPoint } from './cli/entry-point.js';
import { describeDatabase, type Config } from './config.js';
import { createHttpServer } from './http/create-http-server.js';
import { createMemoryBudget } from './http/memory-budget.js';
import { createJsonLogger } from './ops/logger.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createMetricsServer } from './ops/metrics-server.js';
import { createRemovalLock } from './retention/removal-lock.js';
import { startRetentionJob } from './retention/retention-job.js';
import type { EventStore } from './store/event-store.js';
import { openEventStore } from './store/open-event-store.js';
import { createCommitSignal } from './stream/commit-signal.js';
import { headPosition } from './stream/head-position.js';
import { createLiveStreams } from './stream/live-streams.js';
import { startSinkDelivery } from './delivery/sink-deliverer.js';
import { sinkLag } from './routes/sinks.js';

/** A request within this long makes the service busy, for the retention job's pace. */
const BUSY_WINDOW_MS = 1000;
/** How long shutdown waits for requests in flight before cutting their connections. */
const DRAIN_TIMEOUT_MS = 10_000;

/** Printed once listening, so that the curl example names the port actually bound (PORT=0). */
function announceGeneratedKey(key: string, host: string, port: number): void {
  const address = host.includes(':') ? `[${host}]` : host;
  process.stderr.write(
    'No AUDITOR_API_KEY is set and the keys file has no keys, so this run uses an admin key\n' +
      'generated for it alone (it is not saved; create lasting keys with npm run keys):\n' +
      `  ${key}\n` +
      `Try: curl -H 'X-API-Key: ${key}' 'http://${address}:${port}/events?user_id=alice'\n`,
  );
}

/** What the start-up line says when no key can reach the admin endpoints, and what to do. */
function noAdminKeyWarning(config: Config): string {
  const unreachable = config.metricsPort === undefined ? 'GET /integrity and GET /metrics answer' : 'GET /integrity answers';
  return `no admin key: ${unreachable} 403 to every key; create one with npm run -s keys -- create --name ops --scope admin (no restart needed)`;
}

async function openStore(config: Config, metrics: Metrics, onCommitted: () => void): Promise<EventStore> {
  try {
    return await openEventStore(config.database, {
      chainSecret: config.chainSecret,
      signingKeyFile: config.signingKeyFile,
      logOrigin: config.logOrigin,
      indexedFields: config.indexedFields,
      checkpointIntervalMs: config.checkpointIntervalMs,
      onTransactionCommitted(events) {
        metrics.batchCommitted(events);
        onCommitted(); // the live streams read what it added
      },
      onClockBehindLog: metrics.clockBehindLog,
      onCheckpoint: metrics.checkpointSigned,
      log,
      allowNewDatabase: config.allowNewDatabase,
    });
  } catch (error) {
    fail(`AUDITOR_DB: cannot open the database at "${describeDatabase(config.database)}": ${(error as Error).message}`);
  }
}

function openKeys(config: Config): { keys: KeyRegistry; source: string; generatedKey: string | undefined; hasAdminKey: boolean } {
  let records;
  try {
    records = readKeysFile(config.keysFile);
  } catch (error) {
    fail(`AUDITOR_KEYS_FILE: cannot read "${config.keysFile}": ${(error as Error).message}`);
  }
  const generatedKey = config.apiKeySha256 === undefined && records.length === 0 ? generateKey() : undefined;
  const adminKeySha256 = config.apiKeySha256 ?? (generatedKey === undefined ? undefined : hashKey(generatedKey));
  const keys = createKeyRegistry({ keysFile: config.keysFile, adminKeySha256, log });
  const envKey = config.apiKeySha256 !== undefined ? ' + AUDITOR_API_KEY' : generatedKey !== undefined ? ' + a generated admin key' : '';
  const hasAdminKey = adminKeySha256 !== undefined || records.some((record) => record.scope === 'admin');
  return { keys, source: `${records.length} from ${config.keysFile}${envKey}`, generatedKey, hasAdminKey };
}

const { config } = startEntryPoint({
  name: 'auditor',
  usage: `usage: npm start

Starts the service as built by npm ci or npm run build (it never builds). Every setting comes from
the environment or .env: PORT, HOST, AUDITOR_DB, AUDITOR_KEYS_FILE, AUDITOR_API_KEY and the rest
(README, Configuration). It stops on SIGTERM or SIGINT, finishing the requests in flight.`,
  options: {},
  failStatus: 1,
});
// config holds AUDITOR_API_KEY as its digest only; gone from the environment too, no later code
// can read the key in plain text again.
delete process.env.AUDITOR_API_KEY;
const log = createJsonLogger(undefined, config.logLevel);
process.on('exit', () => log.flush());
// The generated key, in plain text only until it is printed; then the process keeps its digest alone.
let { keys, source: keySource, generatedKey, hasAdminKey } = openKeys(config);
const commits = createCommitSignal(async () => (await headPosition(store)).seq, config.streams.pollMs);
const metrics = createMetrics({
  databaseBytes: () => store.sizeBytes(),
  responseMemory: () => responseMemory.reserved(),
  requestMemory: () => requestMemory.reserved(),
  openStreams: () => streams.count(),
  sinkLags: async () => Promise.all((await store.sinks.list()).map(async (sink) => ({ sink: sink.id, ...(await sinkLag(store, sink, Date.now())) }))),
});
const store = await openStore(config, metrics, commits.notify);
const streams = createLiveStreams(commits, config.streams, metrics.streamEnded);
const delivery = startSinkDelivery({ store, signal: commits, settings: config.delivery, log, onDelivery: metrics.sinkDelivery });
const limits = {
  perKey: config.rateLimit.ratePerSecond > 0 ? createRateLimiter(config.rateLimit) : undefined,
  failedAuth: config.failedAuthLimit.ratePerSecond > 0 ? createRateLimiter(config.failedAuthLimit) : undefined,
};
const responseMemory = createMemoryBudget(config.responseMemoryBytes);
const requestMemory = createMemoryBudget(config.requestMemoryBytes);
const removalLock = createRemovalLock();
/** When the last request arrived: the retention job paces itself while requests come. */
let lastRequestMs = 0;
const retention = config.retention === undefined ? undefined : startRetentionJob({
  store, policy: config.retention, lock: removalLock, intervalMs: config.retentionIntervalMs, log,
  isBusy: () => Date.now() - lastRequestMs < BUSY_WINDOW_MS,
  onRemoved: (count) => metrics.payloadsRemoved('retention', count),
  onRun: () => metrics.retentionRun('completed', Date.now()),
  onFailure: () => metrics.retentionRun('failed', Date.now()),
});
const server = createHttpServer(
  createApp({
    store, keys, limits, trustedProxies: config.trustedProxies, metrics, maxBodyBytes: config.maxBodyBytes, log, responseMemory, requestMemory,
    witnessKeys: config.witnessKeys, corsOrigins: config.corsOrigins, removalLock, streams,
  }),
  { log, metrics },
);
const metricsServer = config.metricsPort === undefined ? undefined : createMetricsServer(metrics, log);
metricsServer?.once('error', (error: NodeJS.ErrnoException) => {
  fail(`AUDITOR_METRICS_PORT: cannot listen on ${config.host}:${config.metricsPort}: ${error.code ?? error.message}`);
});
metricsServer?.listen(config.metricsPort, config.host, () => {
  const address = metricsServer.address();
  log.info({ msg: 'metrics listening', host: config.host, port: typeof address === 'object' && address !== null ? address.port : config.metricsPort });
});
// Requests not yet answered, so shutdown can say how many it waited for.
let inFlight = 0;
server.on('request', (_request, response: ServerResponse) => {
  inFlight++;
  lastRequestMs = Date.now();
  response.once('close', () => inFlight--);
});
server.once('error', (error: NodeJS.ErrnoException) => {
  fail(`PORT/HOST: cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}`);
});
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  if (generatedKey !== undefined) announceGeneratedKey(generatedKey, config.host, port);
  generatedKey = undefined;
  log.info({
    msg: 'listening', host: config.host, port, database: describeDatabase(config.database), keys: keySource,
    ...(hasAdminKey ? {} : { warning: noAdminKeyWarning(config) }),
  });
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const waitingFor = inFlight;
  log.info({ msg: 'shutting down', signal, requests_in_flight: waitingFor });
  // Stop accepting; requests in flight finish (every 201 is already committed), then close.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  metricsServer?.close();
  metricsServer?.closeAllConnections();
  server.closeIdleConnections();
  streams.closeAll(); // each says so in a last message; its client resumes elsewhere or after the restart
  let cut = false;
  const force = setTimeout(() => {
    cut = true;
    server.closeAllConnections();
  }, DRAIN_TIMEOUT_MS);
  await closed;
  clearTimeout(force);
  keys.close();
  await retention?.stop(); // the batch in progress finishes; the rest waits for the next start
  await delivery.stop(); // deliveries under way finish or time out; a cursor moves only after a 2xx
  await store.close(); // commits every event still queued before the database closes
  log.info({ msg: 'stopped', drained_requests: waitingFor, cut_off: cut });
}
// Kept for the whole shutdown, which ignores a repeated signal: under npm start the same signal
// often comes twice (a supervisor or a terminal signals the whole process group, and npm passes
// its own on), and a second one must not kill the process mid-drain. Shutdown is bounded anyway.
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
