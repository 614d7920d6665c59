import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createClientAddress } from '../auth/client-address.js';
import type { ScopeGuard } from '../auth/scope-guard.js';
import type { ProxyRange } from '../auth/trusted-proxies.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { HttpError } from './http-error.js';
import { createRouteMatcher } from './route-matcher.js';
import type { Reply, Route, RouteTable } from './route.js';
import type { CorsPolicy } from './cors.js';
import type { MemoryBudget } from './memory-budget.js';
import { sendError, sendReply } from './send-reply.js';
import type { UnreadBodyLimits } from './unread-body.js';

export type RouterOptions = {
  log: Logger;
  metrics?: Metrics | undefined;
  /** Who may call the routes that need a key; an app without it may have public routes only. */
  requireScope?: ScopeGuard | undefined;
  /** Peers whose forwarding headers name the client (AUDITOR_TRUSTED_PROXIES). */
  trustedProxies?: readonly ProxyRange[] | undefined;
  /** How long a streamed answer waits for a client that stopped reading (STALLED_CLIENT_MS by default). */
  stalledClientMs?: number | undefined;
  /** The answers' memory budget, where a compressed stream's encoder takes room; streams go uncoded without it. */
  responseMemory?: MemoryBudget | undefined;
  /** How much of a refused body is read and thrown away before the connection closes (UNREAD_BODY_LIMITS by default). */
  unreadBody?: UnreadBodyLimits | undefined;
  /** Which browser pages may call (AUDITOR_CORS_ORIGINS); none when left out. */
  cors?: CorsPolicy | undefined;
};

/**
 * An app made of a route table, as a plain request listener: every request gets an X-Request-Id
 * and one log line and is counted by its route's pattern; its path is matched against the table
 * (404 for no pattern, 405 with Allow for a method the pattern lacks), its key checked for the
 * route's scope, and its route's reply or error sent. Each port of the service is one of these.
 */
export function createRouter(routes: RouteTable, options: RouterOptions): RequestListener {
  const { log, metrics, requireScope, stalledClientMs, responseMemory, unreadBody } = options;
  const cors = options.cors?.enabled === true ? options.cors : undefined;
  const table = withHeadForEveryGet(routes);
  const match = createRouteMatcher(table);
  const clientAddress = createClientAddress(options.trustedProxies ?? []);
  if (requireScope === undefined) {
    for (const [pattern, methods] of Object.entries(table)) {
      for (const [method, route] of Object.entries(methods)) {
        if (route?.scope !== 'public') throw new Error(`${method} ${pattern} needs a key, and this app checks none`);
      }
    }
  }

  return (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    const { path, params } = splitTarget(request.url ?? '/');
    const matched = match(path);
    const client = clientAddress(request);
    // A caller's X-Request-Id ties our log line to theirs; without one (or with one we would not
    // echo), we make one. Either way the response carries it.
    const offered = request.headers['x-request-id'];
    const requestId = typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID();
    response.setHeader('X-Request-Id', requestId);
    // The path only: query strings carry user ids and filter values, which stay out of logs.
    // `client` is the address the failed-authentication limit counted against.
    // 'close' comes once; `on` spares the wrapper `once` makes.
    response.on('close', () => {
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
      // Counted as what the client got, so that no error rate reads a cut answer as a success: the
      // status sent for an answer sent whole (one with a Content-Length is written in one piece,
      // though its end may wait for the client to finish sending a refused body); 500 for a stream
      // the service cut because it failed (its error is on the response); 499, as nginx counts a
      // client that left, for the rest: a client gone before any answer (statusCode says 200
      // then), one gone mid-stream, one cut off for not reading. The log line keeps the status sent.
      const whole = response.writableFinished || (response.headersSent && response.hasHeader('content-length'));
      const status = whole ? response.statusCode : response.errored ? SERVER_CUT_ANSWER : CLIENT_CLOSED_REQUEST;
      metrics?.observeRequest(matched?.pattern ?? 'unmatched', request.method ?? '', status, (performance.now() - started) / 1000);
    });

    if (cors !== undefined) {
      const preflight = matched === undefined ? undefined : cors.preflight(request, Object.keys(matched.methods));
      if (preflight !== undefined) {
        if (preflight.message === undefined) response.writeHead(preflight.status, preflight.headers).end();
        else sendError(request, response, new HttpError(preflight.status, preflight.message, preflight.headers), log);
        return;
      }
      cors.allowReading(request, response);
    }

    // Known once the method is matched: what the route asks of the store says what its 503 says.
    let route: Route | undefined;
    const answer = async (): Promise<Reply> => {
      if (matched === undefined) throw new HttpError(404, `No such endpoint: ${path}`);
      route = matched.methods[request.method ?? ''];
      if (route === undefined) {
        const allowed = Object.keys(matched.methods).join(', ');
        throw new HttpError(405, `${request.method} is not allowed on ${path}; use ${allowed}`, { Allow: allowed });
      }
      const caller = route.scope === 'public' ? undefined : requireScope!(request, route.scope, client);
      return route.handle(request, { params, pathParams: matched.pathParams, caller });
    };
    answer()
      .then((reply) => sendReply(response, reply, log, { stalledClientMs, responseMemory }))
      .catch((error: unknown) => sendError(request, response, error, log, route?.store, unreadBody));
  };
}

/**
 * HEAD wherever there is GET, answered by the GET route (RFC 9110 §9.3.2: same status and headers,
 * no body). Node's response sends no body for a HEAD request whatever is written; send-reply.ts
 * only spares a streamed answer the reading it would throw away.
 */
function withHeadForEveryGet(table: RouteTable): RouteTable {
  const extended: Record<string, Readonly<Partial<Record<string, Route>>>> = {};
  for (const [pattern, methods] of Object.entries(table)) {
    const withHead: Partial<Record<string, Route>> = {};
    for (const [method, route] of Object.entries(methods)) {
      withHead[method] = route;
      if (method === 'GET' && methods.HEAD === undefined) withHead.HEAD = route; // Allow: GET, HEAD, POST
    }
    extended[pattern] = withHead;
  }
  return extended;
}

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const CLIENT_CLOSED_REQUEST = 499;
const SERVER_CUT_ANSWER = 500;

/** Splits `/events?x=1` by hand: `new URL` would read `//events` as a host name. */
function splitTarget(target: string): { path: string; params: URLSearchParams } {
  const question = target.indexOf('?');
  if (question === -1) return { path: target, params: new URLSearchParams() };
  return { path: target.slice(0, question), params: new URLSearchParams(target.slice(question + 1)) };
}
