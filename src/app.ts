import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createClientAddress } from './auth/client-address.js';
import type { KeyRegistry } from './auth/key-registry.js';
import { DEFAULTS } from './config.js';
import type { Scope } from './auth/keys-file.js';
import { createScopeGuard, type GuardLimits } from './auth/scope-guard.js';
import type { ProxyRange } from './auth/trusted-proxies.js';
import { HttpError } from './http/http-error.js';
import { createMemoryBudget, type MemoryBudget } from './http/memory-budget.js';
import type { Reply, RouteHandler } from './http/route.js';
import { sendError, sendReply } from './http/send-reply.js';
import type { Logger } from './ops/logger.js';
import type { Metrics } from './ops/metrics.js';
import { createGetEventRoute } from './routes/get-event.js';
import { createGetEventsRoute } from './routes/get-events.js';
import { createGetIntegrityRoute } from './routes/get-integrity.js';
import { createGetMetricsRoute } from './routes/get-metrics.js';
import { createGetOpenApiRoute } from './routes/get-openapi.js';
import { createGetReadyzRoute, getHealthz } from './routes/health.js';
import { createPostEventBatchRoute } from './routes/post-event-batch.js';
import { createPostEventsRoute } from './routes/post-events.js';
import type { EventStore } from './store/event-store.js';

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
  /** How long a streamed answer waits for a client that stopped reading (STALLED_CLIENT_MS by default). */
  stalledClientMs?: number;
};

/** Per path, per method: the scope a key needs (or none, for the probes), and the handler. */
type Routes = Record<string, Partial<Record<string, { scope: Scope | 'any' | 'public'; handle: RouteHandler }>>>;

/** The whole HTTP surface as a plain request listener: route, authenticate, handle, answer. */
export function createApp(dependencies: AppDependencies): RequestListener {
  const { store, keys, limits, trustedProxies = [], metrics, maxBodyBytes, log, stalledClientMs } = dependencies;
  const budget = dependencies.responseMemory ?? createMemoryBudget(DEFAULTS.responseMemoryBytes);
  const bodies = { maxBytes: maxBodyBytes, memory: dependencies.requestMemory ?? createMemoryBudget(DEFAULTS.requestMemoryBytes) };
  const countIngested = metrics === undefined ? undefined : metrics.eventsIngested;
  const requireScope = createScopeGuard(keys, limits);
  const clientAddress = createClientAddress(trustedProxies);
  const routes: Routes = {
    '/events': {
      GET: { scope: 'read', handle: createGetEventsRoute(store, budget) },
      POST: { scope: 'ingest', handle: createPostEventsRoute(store, bodies, countIngested) },
    },
    '/events/batch': {
      POST: { scope: 'ingest', handle: createPostEventBatchRoute(store, bodies, countIngested) },
    },
    '/events/{id}': {
      GET: { scope: 'read', handle: createGetEventRoute(store) },
    },
    '/integrity': {
      GET: { scope: 'admin', handle: createGetIntegrityRoute(store) },
    },
    ...(metrics === undefined ? {} : { '/metrics': { GET: { scope: 'admin' as const, handle: createGetMetricsRoute(metrics) } } }),
    '/openapi.json': { GET: { scope: 'any', handle: createGetOpenApiRoute() } },
    // Orchestrators probe these without a key; they reveal nothing but up or down.
    '/healthz': { GET: { scope: 'public', handle: getHealthz } },
    '/readyz': { GET: { scope: 'public', handle: createGetReadyzRoute(store) } },
  };

  const handle = async (
    request: IncomingMessage,
    path: string,
    { pattern, pathId }: ReturnType<typeof matchPath>,
    params: URLSearchParams,
    client: string,
  ): Promise<Reply> => {
    const methods = pattern === undefined ? undefined : routes[pattern];
    if (methods === undefined) throw new HttpError(404, `No such endpoint: ${path}`);
    const route = methods[request.method ?? ''];
    if (route === undefined) {
      const allowed = Object.keys(methods).join(', ');
      throw new HttpError(405, `${request.method} is not allowed on ${path}; use ${allowed}`, { Allow: allowed });
    }
    const caller = route.scope === 'public' ? undefined : requireScope(request, route.scope, client);
    return route.handle(request, { params, pathId, caller });
  };

  return (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    const { path, params } = splitTarget(request.url ?? '/');
    const matched = matchPath(path);
    const client = clientAddress(request);
    // A caller's X-Request-Id ties our log line to theirs; without one (or with one we would not
    // echo), we make one. Either way the response carries it.
    const offered = request.headers['x-request-id'];
    const requestId = typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID();
    response.setHeader('X-Request-Id', requestId);
    // The path only: query strings carry user ids and filter values, which stay out of logs.
    // `client` is the address the failed-authentication limit counted against.
    response.once('close', () => {
      const line: Record<string, unknown> = {
        msg: 'request',
        request_id: requestId,
        client,
        method: request.method,
        path,
        status: response.headersSent ? response.statusCode : null,
        duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
      };
      if (!response.writableFinished) line.aborted = true;
      log.info(line);
      // A client that left before any answer is counted as nginx counts it, 499, not as the 200
      // that statusCode says before anything is sent.
      const status = response.headersSent ? response.statusCode : CLIENT_CLOSED_REQUEST;
      metrics?.observeRequest(matched.pattern ?? 'unmatched', request.method ?? '', status, (performance.now() - started) / 1000);
    });
    handle(request, path, matched, params, client)
      .then((reply) => sendReply(response, reply, log, stalledClientMs))
      .catch((error: unknown) => sendError(request, response, error, log));
  };
}

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const CLIENT_CLOSED_REQUEST = 499;

const FIXED_PATHS = new Set(['/events', '/events/batch', '/integrity', '/healthz', '/readyz', '/metrics', '/openapi.json']);

/** Fixed paths match themselves; `/events/<one segment>` matches `/events/{id}`, with the segment decoded. */
function matchPath(path: string): { pattern: string | undefined; pathId: string } {
  if (FIXED_PATHS.has(path)) return { pattern: path, pathId: '' };
  const id = path.startsWith('/events/') ? path.slice('/events/'.length) : '';
  if (id === '' || id.includes('/')) return { pattern: undefined, pathId: '' };
  try {
    return { pattern: '/events/{id}', pathId: decodeURIComponent(id) };
  } catch {
    return { pattern: undefined, pathId: '' }; // malformed percent-encoding names nothing
  }
}

/** Splits `/events?x=1` by hand: `new URL` would read `//events` as a host name. */
function splitTarget(target: string): { path: string; params: URLSearchParams } {
  const question = target.indexOf('?');
  if (question === -1) return { path: target, params: new URLSearchParams() };
  return { path: target.slice(0, question), params: new URLSearchParams(target.slice(question + 1)) };
}
