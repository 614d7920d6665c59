import { createServer, type RequestListener, type Server } from 'node:http';
import { answerClientError } from './client-error.js';

/** What a slow or oversized client may take before it is answered 408 or 431 and cut off. */
export type ServerLimits = { headersTimeoutMs: number; requestTimeoutMs: number; maxHeaderBytes: number };

export const SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000, // to send the request line and headers (a slowloris gets 408)
  requestTimeoutMs: 30_000, // to send the whole request, body included
  maxHeaderBytes: 16 * 1024, // request line and headers together (more is 431)
};

/** The HTTP server every entry point uses: the app, these limits, and JSON for parser errors. */
export function createHttpServer(app: RequestListener, limits: ServerLimits = SERVER_LIMITS): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // Node checks the two timeouts only this often (30 s by default): check every second.
      connectionsCheckingInterval: 1000,
    },
    app,
  );
  server.on('clientError', answerClientError);
  return server;
}
