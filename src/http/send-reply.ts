import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../ops/logger.js';
import { HttpError } from './http-error.js';
import { RawJson, type JsonReply, type Reply, type StoreUse, type StreamReply } from './route.js';
import { storeRefusal } from './store-refusal.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The headers of every response, plus `extra`. Audit data must not linger in shared caches, nor be
 * sniffed into something executable. Written as a literal on purpose: building it by object
 * spread measured slower, and every response pays for it.
 */
function responseHeaders(contentType: string, extra: Record<string, string> | undefined): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Type': contentType,
  };
  if (extra !== undefined) for (const name of Object.keys(extra)) headers[name] = extra[name]!;
  return headers;
}

/**
 * How long a streamed answer waits for a client that has stopped reading before it cuts the
 * connection: what the answer holds in memory is only given back when it is written out.
 */
export const STALLED_CLIENT_MS = 60_000;

export async function sendReply(response: ServerResponse, reply: Reply, log: Logger, stalledClientMs = STALLED_CLIENT_MS): Promise<void> {
  if ('chunks' in reply) await sendStream(response, reply, log, stalledClientMs);
  else if ('text' in reply) sendWhole(response, reply.status, reply.contentType, reply.text, reply.headers);
  else sendJson(response, reply);
}

/**
 * The one place that turns a thrown error into a response: an HttpError answers with its status and
 * message; what the store refused is answered by what the route asked of it (`storeUse`; see
 * store-refusal.ts); anything else is our fault, logged here and answered with a 500 that reveals
 * nothing.
 */
export function sendError(request: IncomingMessage, response: ServerResponse, error: unknown, log: Logger, storeUse?: StoreUse): void {
  const answer = error instanceof HttpError ? error : storeRefusal(error, request, storeUse);
  let reply: JsonReply;
  if (answer !== undefined) {
    reply = { status: answer.status, body: { message: answer.message, ...answer.details }, headers: { ...answer.headers } };
    // A 5xx with a cause is a fault underneath (a store failure the store did not recognise); one
    // without is an answer (not ready yet, or a refusal the store has logged), which the request
    // line already records.
    if (answer.status >= 500 && answer.cause !== undefined) {
      log.error({ msg: answer.message, method: request.method, error: describe(answer.cause) });
    }
  } else {
    log.error({ msg: 'request failed', method: request.method, error: describe(error) });
    reply = { status: 500, body: { message: 'Internal server error' } };
  }
  if (response.headersSent) {
    response.destroy(); // mid-stream: cutting the connection is the only honest signal left
    return;
  }
  // A body we did not read to the end is not read at all: close the connection after answering.
  if (!request.complete) reply.headers = { ...reply.headers, Connection: 'close' };
  sendJson(response, reply);
}

function sendJson(response: ServerResponse, reply: JsonReply): void {
  const body = reply.body instanceof RawJson ? reply.body.text : JSON.stringify(reply.body);
  sendWhole(response, reply.status, JSON_CONTENT_TYPE, body, reply.headers);
}

function sendWhole(response: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> | undefined): void {
  const headers = responseHeaders(contentType, extra);
  headers['Content-Length'] = Buffer.byteLength(body);
  response.writeHead(status, headers);
  response.end(body);
}

/**
 * Writes chunks as they come, waiting whenever the client reads slower than we produce. When the
 * client goes away the loop stops, which ends the iteration and so the query behind it; a client
 * that reads nothing for `stalledClientMs` is cut off, which does the same. The iteration is always
 * begun, even for a client already gone, so that whatever the chunks hold is given back.
 */
async function sendStream(response: ServerResponse, reply: StreamReply, log: Logger, stalledClientMs: number): Promise<void> {
  // Destroyed: the client hung up (perhaps before any of this began) or was cut off.
  const gone = (): boolean => response.destroyed;
  response.writeHead(reply.status, responseHeaders(reply.contentType, reply.headers));
  try {
    for await (const chunk of reply.chunks) {
      if (gone()) break;
      if (!response.write(chunk) && !(await drainedOrGone(response, stalledClientMs))) {
        log.info({ msg: 'client stopped reading; connection cut', waited_ms: stalledClientMs });
        response.destroy();
        break;
      }
    }
    if (!gone()) response.end();
  } catch (error) {
    log.error({ msg: 'stream failed', error: describe(error) });
    // With its error, so that the router counts the answer as the service's failure, not the client's.
    response.destroy(error instanceof Error ? error : new Error(describe(error)));
  }
}

/**
 * Resolves true when the response can take more or is gone, false when neither happened within
 * `timeoutMs`; leaves no listener or timer behind either way. A response already gone resolves at
 * once: its 'close' has been and will not come again.
 */
function drainedOrGone(response: ServerResponse, timeoutMs: number): Promise<boolean> {
  if (response.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (moved: boolean): void => {
      clearTimeout(timer);
      response.off('drain', onEvent).off('close', onEvent);
      resolve(moved);
    };
    const onEvent = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    response.on('drain', onEvent).on('close', onEvent);
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
