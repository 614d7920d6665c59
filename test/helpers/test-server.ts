import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.js';
import { DEFAULTS, type StreamSettings } from '../../src/config.js';
import { createKeyRegistry } from '../../src/auth/key-registry.js';
import { hashKey } from '../../src/auth/keys-file.js';
import type { GuardLimits } from '../../src/auth/scope-guard.js';
import type { ProxyRange } from '../../src/auth/trusted-proxies.js';
import { createHttpServer, type ServerLimits } from '../../src/http/create-http-server.js';
import type { MemoryBudget } from '../../src/http/memory-budget.js';
import type { UnreadBodyLimits } from '../../src/http/unread-body.js';
import { silentLogger, type Logger } from '../../src/ops/logger.js';
import type { Metrics } from '../../src/ops/metrics.js';
import type { RemovalLock } from '../../src/retention/removal-lock.js';
import type { EventStore, StoreOptions } from '../../src/store/event-store.js';
import { startSinkDelivery, type DeliverySettings } from '../../src/delivery/sink-deliverer.js';
import { createCommitSignal } from '../../src/stream/commit-signal.js';
import { headPosition } from '../../src/stream/head-position.js';
import { createLiveStreams, type LiveStreams } from '../../src/stream/live-streams.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import type { VerifierKey } from '../../verifier/signed-note.js';

export const TEST_API_KEY = 'test-key-0123456789abcdef';

export type TestServer = {
  url: string;
  store: EventStore;
  /** The live streams of GET /events/stream (closeAll ends them as a shutdown does). */
  streams: LiveStreams;
  /** The fresh database under the store (of the backend under test; see test-database.ts). */
  database: TestDatabase;
  /**
   * POST /events with the test key and a JSON content type unless `headers` says otherwise. A
   * string or bytes are sent as they are; anything else as its JSON.
   */
  post(body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** GET /events with the test key; `query` is the raw query string. */
  get(query: string, headers?: Record<string, string>, signal?: AbortSignal): Promise<Response>;
  close(): Promise<void>;
};

/**
 * A real server on port 0 over a fresh database of the backend under test, as main.ts would wire
 * it (or over `store`, when given; the fresh database then stays empty).
 */
export async function startTestServer(
  options: {
    maxBodyBytes?: number;
    log?: Logger;
    store?: EventStore;
    keysFile?: string;
    limits?: GuardLimits;
    trustedProxies?: ProxyRange[];
    serverLimits?: ServerLimits;
    metrics?: Metrics;
    responseMemory?: MemoryBudget;
    requestMemory?: MemoryBudget;
    stalledClientMs?: number;
    unreadBody?: UnreadBodyLimits;
    /** AUDITOR_CORS_ORIGINS. */
    corsOrigins?: string[];
    /** The witnesses whose cosignatures POST /checkpoint/cosignatures keeps. */
    witnessKeys?: VerifierKey[];
    /** How to open the store over the fresh database (when no `store` is given). */
    storeOptions?: StoreOptions;
    /** The lock erasures and holds share with a retention job the test runs. */
    removalLock?: RemovalLock;
    /** The live streams' settings (AUDITOR_STREAMS_PER_KEY, _HEARTBEAT, _POLL); the defaults when left out. */
    streams?: Partial<StreamSettings>;
    /** Deliver to the webhook sinks, with these settings over the defaults; nothing is delivered when left out. */
    delivery?: Partial<DeliverySettings>;
  } = {},
): Promise<TestServer> {
  const database = await createTestDatabase();
  const settings = { perKey: DEFAULTS.streamsPerKey, heartbeatMs: DEFAULTS.streamHeartbeatMs, pollMs: DEFAULTS.streamPollMs, ...options.streams };
  // As main.ts wires them: the store tells the streams of each commit; they poll its head for the rest.
  const commits = createCommitSignal(async () => (await headPosition(store)).seq, settings.pollMs);
  const store: EventStore = options.store ?? await database.openStore({
    ...options.storeOptions,
    onTransactionCommitted(events) {
      options.metrics?.batchCommitted(events);
      commits.notify();
    },
    ...(options.metrics ? { onClockBehindLog: options.metrics.clockBehindLog, onCheckpoint: options.metrics.checkpointSigned } : {}),
  });
  const streams = createLiveStreams(commits, settings, options.metrics?.streamEnded);
  const delivery = options.delivery === undefined ? undefined : startSinkDelivery({
    store, signal: commits, log: options.log ?? silentLogger, onDelivery: options.metrics?.sinkDelivery,
    settings: {
      batchSize: DEFAULTS.sinkBatchSize, batchWaitMs: DEFAULTS.sinkBatchWaitMs, timeoutMs: DEFAULTS.sinkTimeoutMs,
      backoffMs: DEFAULTS.sinkBackoffMs, maxBackoffMs: DEFAULTS.sinkMaxBackoffMs, ...options.delivery,
    },
  });
  const log = options.log ?? silentLogger;
  const keys = createKeyRegistry({ adminKeySha256: hashKey(TEST_API_KEY), keysFile: options.keysFile, log, pollMs: 50 });
  const app = createApp({
    store,
    keys,
    limits: options.limits ?? {},
    ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    log,
    ...(options.responseMemory ? { responseMemory: options.responseMemory } : {}),
    ...(options.requestMemory ? { requestMemory: options.requestMemory } : {}),
    ...(options.stalledClientMs ? { stalledClientMs: options.stalledClientMs } : {}),
    ...(options.unreadBody ? { unreadBody: options.unreadBody } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
    ...(options.witnessKeys ? { witnessKeys: options.witnessKeys } : {}),
    ...(options.removalLock ? { removalLock: options.removalLock } : {}),
    streams,
  });
  const server = createHttpServer(app, { log, metrics: options.metrics, limits: options.serverLimits });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    store,
    streams,
    database,
    post: (body, headers = {}) =>
      fetch(`${url}/events`, {
        method: 'POST',
        headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json', ...headers },
        body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
      }),
    get: (query, headers = {}, signal) =>
      fetch(`${url}/events?${query}`, { headers: { 'X-API-Key': TEST_API_KEY, ...headers }, ...(signal ? { signal } : {}) }),
    async close() {
      keys.close();
      streams.closeAll();
      await delivery?.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close();
      await database.drop();
    },
  };
}

/** Asserts a JSON error response and returns its message. */
export async function errorMessage(response: Response): Promise<string> {
  const type = response.headers.get('content-type');
  if (type !== 'application/json; charset=utf-8') throw new Error(`error response has content type ${type}`);
  const body = (await response.json()) as { message?: unknown };
  if (typeof body.message !== 'string' || body.message === '') throw new Error(`error body has no message: ${JSON.stringify(body)}`);
  return body.message;
}
