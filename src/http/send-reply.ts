import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { Logger } from '../ops/logger.js';
import type { MemoryBudget } from './memory-budget.js';
import { chooseCoding, compressWhole, COMPRESS_MIN_CHARS, createEncoder, type ContentCoding } from './compression.js';
import { HttpError } from './http-error.js';
import { RawJson, type JsonReply, type Reply, type StoreUse, type StreamReply } from './route.js';
import { storeRefusal } from './store-refusal.js';
import { endAfterUnreadBody, UNREAD_BODY_LIMITS, type UnreadBodyLimits } from './unread-body.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The headers of every response, plus `extra`. Audit data must not linger in shared caches, nor be
 * sniffed into something executable. Written as a literal on purpose: building it by object
 * spread measured slower, and every response pays for it. An answer that may be compressed (one
 * long enough, compressed or not) says it varies by Accept-Encoding, with `coding` when it is.
 */
function responseHeaders(
  response: ServerResponse,
  contentType: string,
  extra: Record<string, string> | undefined,
  compressible = false,
  coding?: ContentCoding,
): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Type': contentType,
  };
  if (extra !== undefined) for (const name of Object.keys(extra)) headers[name] = extra[name]!;
  if (compressible) {
    headers.Vary = extra?.Vary === undefined ? 'Accept-Encoding' : `${extra.Vary}, Accept-Encoding`;
    if (coding !== undefined) headers['Content-Encoding'] = coding;
  }
  // writeHead would replace a Vary set before (CORS's Origin) rather than add to it.
  if (headers.Vary !== undefined) {
    const before = response.getHeader('Vary');
    if (before !== undefined) headers.Vary = `${String(before)}, ${headers.Vary}`;
  }
  return headers;
}

/**
 * How long a streamed answer waits for a client that has stopped reading before it cuts the
 * connection: what the answer holds in memory is only given back when it is written out.
 */
export const STALLED_CLIENT_MS = 60_000;

/** How long a client cut off for not reading has to read a farewell (StreamReply.farewell). */
const FAREWELL_GRACE_MS = 5000;

/** How a streamed answer is sent: how long it waits for a stalled client, and the memory its encoder takes room in. */
export type StreamOptions = {
  stalledClientMs?: number | undefined;
  /**
   * The answers' memory budget: a compressed stream reserves ENCODER_BYTES of it for its encoder,
   * and goes uncoded when there is no room. Without it, streams are never compressed.
   */
  responseMemory?: MemoryBudget | undefined;
};

/**
 * What one streaming encoder holds, with room to spare: zlib's state measured 0.22 MB for gzip at
 * level 1 with a 4 KiB window (0.34 MB with the default one) and 0.72 MB for brotli at quality 1,
 * with 1 MB of events through each.
 */
export const ENCODER_BYTES = 1024 * 1024;
/** The holder encoders reserve under: together they take at most its share of the budget (HOLDER_SHARE). */
const ENCODERS = 'compression';

export async function sendReply(response: ServerResponse, reply: Reply, log: Logger, options: StreamOptions = {}): Promise<void> {
  if ('chunks' in reply) await sendStream(response, reply, log, options);
  else if ('text' in reply) sendWhole(response, reply.status, reply.contentType, reply.text, reply.headers);
  else sendJson(response, reply);
}

/**
 * The one place that turns a thrown error into a response: an HttpError answers with its status and
 * message; what the store refused is answered by what the route asked of it (`storeUse`; see
 * store-refusal.ts); anything else is our fault, logged here and answered with a 500 that reveals
 * nothing.
 */
export function sendError(
  request: IncomingMessage,
  response: ServerResponse,
  error: unknown,
  log: Logger,
  storeUse?: StoreUse,
  unreadBody: UnreadBodyLimits = UNREAD_BODY_LIMITS,
): void {
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
  if (request.complete) {
    sendJson(response, reply);
    return;
  }
  // A body we did not read to the end is not read at all: the connection closes after the answer,
  // once the client can read it (see unread-body.ts).
  reply.headers = { ...reply.headers, Connection: 'close' };
  const text = jsonText(reply);
  const headers = responseHeaders(response, JSON_CONTENT_TYPE, reply.headers);
  headers['Content-Length'] = Buffer.byteLength(text);
  response.writeHead(reply.status, headers);
  response.write(text);
  endAfterUnreadBody(request, response, unreadBody);
}

function sendJson(response: ServerResponse, reply: JsonReply): void {
  sendWhole(response, reply.status, JSON_CONTENT_TYPE, jsonText(reply), reply.headers);
}

function jsonText(reply: JsonReply): string {
  return reply.body instanceof RawJson ? reply.body.text : JSON.stringify(reply.body);
}

/** Sends a body known whole, with its length; compressed when it is long enough and the client accepts a coding. */
function sendWhole(response: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> | undefined): void {
  if (body.length < COMPRESS_MIN_CHARS) {
    const headers = responseHeaders(response, contentType, extra);
    headers['Content-Length'] = Buffer.byteLength(body);
    response.writeHead(status, headers);
    response.end(body);
    return;
  }
  const coding = chooseCoding(response.req.headers['accept-encoding']);
  const encoded = coding === undefined ? body : compressWhole(body, coding);
  const headers = responseHeaders(response, contentType, extra, true, coding);
  headers['Content-Length'] = Buffer.byteLength(encoded);
  response.writeHead(status, headers);
  response.end(encoded);
}

/**
 * Writes chunks as they come, waiting whenever the client reads slower than we produce. When the
 * client goes away the loop stops, which ends the iteration and so the query behind it; a client
 * that reads nothing for `stalledClientMs` is cut off, which does the same. The iteration is always
 * begun, even for a client already gone, so that whatever the chunks hold is given back.
 */
async function sendStream(response: ServerResponse, reply: StreamReply, log: Logger, options: StreamOptions): Promise<void> {
  const stalledClientMs = options.stalledClientMs ?? STALLED_CLIENT_MS;
  // Destroyed: the client hung up (perhaps before any of this began) or was cut off.
  const gone = (): boolean => response.destroyed;
  const head = response.req.method === 'HEAD';
  // A stream that states its length up front is sent as it is: compressing it would make that a lie.
  const compressible = reply.headers?.['Content-Length'] === undefined && reply.compress !== false && options.responseMemory !== undefined;
  let coding = compressible ? chooseCoding(response.req.headers['accept-encoding']) : undefined;
  // A HEAD says what a GET would be answered with when memory allows; it sends nothing to code.
  if (coding !== undefined && !head && !options.responseMemory!.tryReserve(ENCODER_BYTES, ENCODERS)) coding = undefined;
  response.writeHead(reply.status, responseHeaders(response, reply.contentType, reply.headers, compressible, coding));
  // With a coding, pieces go through the encoder, which pipe() keeps from outrunning the client:
  // the encoder's own buffers fill, and its write() says so, as the response's would.
  const encoder = coding === undefined || head ? undefined : createEncoder(coding);
  const sink: Writable = encoder ?? response;
  if (encoder !== undefined) {
    encoder.on('error', (error) => {
      log.error({ msg: 'compression failed', error: describe(error) });
      response.destroy(error); // the service's failure, as the router counts it
    });
    encoder.pipe(response);
    // Its zlib state, and its room, go as soon as the response does, whether the client left or all was sent.
    response.once('close', () => {
      encoder.destroy();
      options.responseMemory!.release(ENCODER_BYTES, ENCODERS);
    });
  }
  try {
    if (response.req.method === 'HEAD') {
      // No body goes out, so none is read past the first chunk (begun, to give back what it holds).
      for await (const _ of reply.chunks) break;
      response.end();
      return;
    }
    for await (const chunk of reply.chunks) {
      if (gone()) break;
      if (!sink.write(chunk) && !(await drainedOrGone(sink, response, stalledClientMs))) {
        log.info({ msg: 'client stopped reading; connection cut', waited_ms: stalledClientMs });
        reply.onCut?.();
        if (reply.farewell === undefined) {
          response.destroy();
        } else {
          // Queued behind what the client has not read: one that reads again finds it, then the
          // end; one that never does is cut when the grace is over.
          sink.end(reply.farewell);
          setTimeout(() => response.destroy(), FAREWELL_GRACE_MS).unref();
        }
        return; // (which ends the iteration, as a break would)
      }
    }
    if (!gone()) sink.end(); // an encoder ends the response once it has flushed into it
  } catch (error) {
    log.error({ msg: 'stream failed', error: describe(error) });
    // With its error, so that the router counts the answer as the service's failure, not the client's.
    response.destroy(error instanceof Error ? error : new Error(describe(error)));
  }
}

/**
 * Resolves true when `sink` (the response, or the encoder in front of it) can take more or the
 * response is gone, false when neither happened within `timeoutMs`; leaves no listener or timer
 * behind either way. A response already gone resolves at once: its 'close' has been and will not
 * come again.
 */
function drainedOrGone(sink: Writable, response: ServerResponse, timeoutMs: number): Promise<boolean> {
  if (response.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (moved: boolean): void => {
      clearTimeout(timer);
      sink.off('drain', onEvent);
      response.off('close', onEvent);
      resolve(moved);
    };
    const onEvent = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    sink.on('drain', onEvent);
    response.on('close', onEvent);
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
