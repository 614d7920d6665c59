import type { RequestListener } from 'node:http';
import type { KeyRegistry } from './auth/key-registry.js';
import { DEFAULTS } from './config.js';
import { createScopeGuard, type GuardLimits } from './auth/scope-guard.js';
import type { ProxyRange } from './auth/trusted-proxies.js';
import { createMemoryBudget, type MemoryBudget } from './http/memory-budget.js';
import type { RouteTable } from './http/route.js';
import type { UnreadBodyLimits } from './http/unread-body.js';
import { CorsPolicy } from './http/cors.js';
import { createRouter } from './http/router.js';
import type { Logger } from './ops/logger.js';
import type { Metrics } from './ops/metrics.js';
import { createGetCheckpointKeyRoute, createGetCheckpointRoute } from './routes/get-checkpoint.js';
import { createGetEventStreamRoute } from './routes/get-event-stream.js';
import { createGetEventSummaryRoute } from './routes/get-event-summary.js';
import { createGetEventRoute } from './routes/get-event.js';
import { createGetEventsRoute } from './routes/get-events.js';
import { createGetIntegrityRoute } from './routes/get-integrity.js';
import { createGetMetricsRoute } from './routes/get-metrics.js';
import { createGetOpenApiRoute } from './routes/get-openapi.js';
import { createGetConsistencyProofRoute, createGetEventProofRoute } from './routes/get-proofs.js';
import { createViewerRoutes } from './routes/get-viewer.js';
import { createGetReadyzRoute, getHealthz } from './routes/health.js';
import { createLegalHoldRoutes } from './routes/legal-holds.js';
import { createPostEventBatchRoute } from './routes/post-event-batch.js';
import { createPostCosignaturesRoute } from './routes/post-cosignatures.js';
import { createPostErasuresRoute } from './routes/post-erasures.js';
import { createPostEventsRoute } from './routes/post-events.js';
import { createSinkRoutes } from './routes/sinks.js';
import { createRemovalLock, type RemovalLock } from './retention/removal-lock.js';
import type { VerifierKey } from '../verifier/signed-note.js';
import type { EventStore } from './store/event-store.js';
import { createCommitSignal } from './stream/commit-signal.js';
import { headPosition } from './stream/head-position.js';
import { createLiveStreams, type LiveStreams } from './stream/live-streams.js';

export type AppDependencies = {
  store: EventStore;
  keys: KeyRegistry;
  limits?: GuardLimits;
  /** Peers whose forwarding headers name the client (AUDITOR_TRUSTED_PROXIES). */
  trustedProxies?: readonly ProxyRange[];
  metrics?: Metrics;
  maxBodyBytes: number;
  log: Logger;
  /** The memory every answer that holds events shares (see memory-budget.ts); a default budget when left out. */
  responseMemory?: MemoryBudget;
  /** The memory every request body in flight shares; a default budget when left out. */
  requestMemory?: MemoryBudget;
  /** The witnesses whose cosignatures of checkpoints are kept (AUDITOR_WITNESS_KEYS); none when left out. */
  witnessKeys?: readonly VerifierKey[];
  /** How long a streamed answer waits for a client that stopped reading (STALLED_CLIENT_MS by default). */
  stalledClientMs?: number;
  /** How much of a refused body is read and thrown away before the connection closes (UNREAD_BODY_LIMITS by default). */
  unreadBody?: UnreadBodyLimits;
  /** The origins whose pages may call from a browser (AUDITOR_CORS_ORIGINS); none when left out. */
  corsOrigins?: readonly string[];
  /** The lock the retention job shares with erasures and legal holds; one of the app's own when left out. */
  removalLock?: RemovalLock;
  /** The live streams of GET /events/stream; the app's own, with the default settings, when left out. */
  streams?: LiveStreams;
};

/**
 * The whole HTTP surface of the main port: its route table, per path pattern and method the scope
 * a key needs (or none, for the probes), what the route asks of the store, and its handler.
 */
export function createApp(dependencies: AppDependencies): RequestListener {
  const { store, keys, limits, trustedProxies, metrics, maxBodyBytes, log, stalledClientMs, unreadBody } = dependencies;
  const budget = dependencies.responseMemory ?? createMemoryBudget(DEFAULTS.responseMemoryBytes);
  const bodies = { maxBytes: maxBodyBytes, memory: dependencies.requestMemory ?? createMemoryBudget(DEFAULTS.requestMemoryBytes) };
  const countIngested = metrics === undefined ? undefined : metrics.eventsIngested;
  const viewer = createViewerRoutes();
  const removalLock = dependencies.removalLock ?? createRemovalLock();
  const holds = createLegalHoldRoutes(store, bodies, removalLock);
  const sinks = createSinkRoutes(store, bodies);
  const countErased = metrics === undefined ? undefined : (count: number) => metrics.payloadsRemoved('erasure', count);
  const streams = dependencies.streams ?? createLiveStreams(
    createCommitSignal(async () => (await headPosition(store)).seq, DEFAULTS.streamPollMs),
    { perKey: DEFAULTS.streamsPerKey, heartbeatMs: DEFAULTS.streamHeartbeatMs },
  );
  const routes: RouteTable = {
    '/events': {
      GET: { scope: 'read', store: 'read', handle: createGetEventsRoute(store, budget) },
      POST: { scope: 'ingest', store: 'append', handle: createPostEventsRoute(store, bodies, countIngested) },
    },
    '/events/batch': {
      POST: { scope: 'ingest', store: 'append-all', handle: createPostEventBatchRoute(store, bodies, countIngested) },
    },
    '/events/stream': {
      GET: { scope: 'read', store: 'read', handle: createGetEventStreamRoute(store, streams, budget) },
    },
    '/events/summary': {
      GET: { scope: 'read', store: 'read', handle: createGetEventSummaryRoute(store) },
    },
    '/events/{id}': {
      GET: { scope: 'read', store: 'read', handle: createGetEventRoute(store) },
    },
    '/events/{id}/proof': {
      GET: { scope: 'read', store: 'read', handle: createGetEventProofRoute(store) },
    },
    '/proofs/consistency': {
      GET: { scope: 'read', store: 'read', handle: createGetConsistencyProofRoute(store) },
    },
    '/checkpoint': {
      GET: { scope: 'read', store: 'read', handle: createGetCheckpointRoute(store) },
    },
    '/checkpoint/cosignatures': {
      POST: { scope: 'admin', store: 'keep', handle: createPostCosignaturesRoute(store, bodies, dependencies.witnessKeys ?? []) },
    },
    '/checkpoint/key': {
      GET: { scope: 'read', handle: createGetCheckpointKeyRoute(store) },
    },
    '/erasures': {
      POST: { scope: 'admin', store: 'keep', handle: createPostErasuresRoute(store, bodies, removalLock, countErased) },
    },
    '/holds': {
      GET: { scope: 'admin', store: 'read', handle: holds.list },
      POST: { scope: 'admin', store: 'keep', handle: holds.place },
    },
    '/holds/{id}': {
      DELETE: { scope: 'admin', store: 'keep', handle: holds.release },
    },
    '/sinks': {
      GET: { scope: 'admin', store: 'read', handle: sinks.list },
      POST: { scope: 'admin', store: 'keep', handle: sinks.add },
    },
    '/sinks/{id}': {
      GET: { scope: 'admin', store: 'read', handle: sinks.show },
      DELETE: { scope: 'admin', store: 'keep', handle: sinks.remove },
    },
    '/integrity': {
      GET: { scope: 'admin', store: 'read', handle: createGetIntegrityRoute(store) },
    },
    ...(metrics === undefined ? {} : { '/metrics': { GET: { scope: 'admin' as const, handle: createGetMetricsRoute(metrics) } } }),
    '/openapi.json': { GET: { scope: 'any', handle: createGetOpenApiRoute() } },
    // The web viewer's page and files hold no data: the page asks for a key, and sends it to the API.
    '/': { GET: { scope: 'public', handle: viewer.page } },
    '/ui/{asset}': { GET: { scope: 'public', handle: viewer.asset } },
    // Orchestrators probe these without a key; they reveal nothing but up or down.
    '/healthz': { GET: { scope: 'public', handle: getHealthz } },
    '/readyz': { GET: { scope: 'public', handle: createGetReadyzRoute(store) } },
  };
  return createRouter(routes, { log, metrics, requireScope: createScopeGuard(keys, limits), trustedProxies, stalledClientMs, responseMemory: budget, unreadBody,
    cors: new CorsPolicy(dependencies.corsOrigins ?? []),
  });
}
