import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import {
  CONNECT_REFUSED,
  describeClientError,
  MISSING_HOST,
  rawProtocolError,
  sendProtocolError,
  UNSUPPORTED_EXPECT,
  type ProtocolError,
  type ServerLimits,
} from './protocol-error.js';

export type { ServerLimits } from './protocol-error.js';

export const SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000, // to send the request line and headers (a slowloris gets 408)
  requestTimeoutMs: 30_000, // to send the whole request, body included
  maxHeaderBytes: 16 * 1024, // request line and headers together (more is 431)
};

/** How long a refused connection may stay open for its client to read the answer and hang up. */
const REFUSED_CONNECTION_MS = 5000;

export type HttpServerOptions = { log: Logger; metrics?: Metrics | undefined; limits?: ServerLimits | undefined };

/**
 * The HTTP server every entry point uses: the app, these limits, and one way for the requests Node
 * refuses before the app sees them (unreadable, too slow, headers too large, no Host, an Expect it
 * cannot meet, CONNECT): a JSON error like every other response, one log line without request data
 * (`protocol error`, status, code) and a count in auditor_http_protocol_errors_total.
 */
export function createHttpServer(app: RequestListener, { log, metrics, limits = SERVER_LIMITS }: HttpServerOptions): Server {
  const record = (error: ProtocolError): void => {
    log.info({ msg: 'protocol error', status: error.status, code: error.code });
    metrics?.protocolError(error.status, error.code);
  };
  // The latest request on each connection: whether a refusal may be written there, and when.
  const latest = new WeakMap<Duplex, { request: IncomingMessage; response: ServerResponse }>();
  // Node's parser raises again on each later chunk of a refused connection: one refusal is enough.
  const refused = new WeakSet<Duplex>();

  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    latest.set(request.socket, { request, response });
    if (request.headers.host === undefined && request.httpVersionMajor === 1 && request.httpVersionMinor === 1) {
      record(MISSING_HOST);
      sendProtocolError(response, MISSING_HOST);
      return;
    }
    app(request, response);
  };
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // Node checks the two timeouts only this often (30 s by default): check every second.
      connectionsCheckingInterval: 1000,
      // Node's own check answers a bare 400 that nothing logs or counts; this listener answers it.
      requireHostHeader: false,
    },
    onRequest,
  );

  // Node answers `Expect: 100-continue` with 100 Continue before the app sees the request, even
  // one it will refuse (an unknown key, a Content-Length over the limit), and so invites the
  // client to send a body only to be cut off. Here 100 Continue goes out when the app begins to
  // read the body (the request's 'resume'), and not at all when the answer comes first.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    request.once('resume', () => {
      if (!response.headersSent) response.writeContinue();
    });
    onRequest(request, response);
  });

  server.on('clientError', (cause: Error, socket: Duplex) => {
    const error = refused.has(socket) ? undefined : describeClientError(cause, limits);
    if (error === undefined || !socket.writable) {
      if (error !== undefined) record(error);
      socket.destroy();
      return;
    }
    refused.add(socket);
    record(error);
    const answer = (): void => answerAndClose(socket, error);
    const pending = latest.get(socket);
    if (pending === undefined || pending.response.writableFinished) {
      answer();
    } else if (!pending.request.complete) {
      // The error is this request's own (a malformed or too slow body): answer it, unless its
      // response has begun, when cutting the connection is the only honest signal left.
      if (pending.response.headersSent) socket.destroy();
      else answer();
    } else {
      // A later pipelined request is malformed: the one before it is answered first.
      pending.response.once('finish', answer);
      pending.response.once('close', () => {
        if (!pending.response.writableFinished) socket.destroy();
      });
    }
  });

  // Node answers a bare 417 to an Expect other than 100-continue, unless this listener does.
  server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    record(UNSUPPORTED_EXPECT);
    sendProtocolError(response, UNSUPPORTED_EXPECT);
  });
  // Node closes a CONNECT without a word unless this listener answers it.
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy()); // Node hands the socket over with no error listener
    record(CONNECT_REFUSED);
    answerAndClose(socket, CONNECT_REFUSED);
  });
  return server;
}

/** Writes the refusal and half-closes; a client that neither reads it nor hangs up is cut off. */
function answerAndClose(socket: Duplex, error: ProtocolError): void {
  if (socket instanceof Socket) socket.setTimeout(REFUSED_CONNECTION_MS, () => socket.destroy());
  socket.end(rawProtocolError(error));
}
