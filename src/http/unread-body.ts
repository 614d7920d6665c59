import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a body the service did not read is read and thrown away after answering, at most. */
export type UnreadBodyLimits = { maxBytes: number; maxMs: number };

/**
 * Enough for a client to finish sending a body of several times the largest accepted one on a
 * slow link, and for an attacker to hold a connection no longer than a slow request may anyway.
 */
export const UNREAD_BODY_LIMITS: UnreadBodyLimits = { maxBytes: 64 * 1024 * 1024, maxMs: 10_000 };

/**
 * Ends a response whose request body was refused before it was read to the end (too large, an
 * unknown key, the wrong type), in a way that lets the client read the answer. Closing the
 * connection at once does not: the client is still sending, its next write meets a reset, and
 * most clients (fetch, Python's urllib) report that broken pipe instead of the answer already
 * waiting in their socket, and retry. So the answer, already written whole (Content-Length, and
 * `Connection: close`), is only ended, which closes the connection, once the client has sent the
 * rest of its body (read here and thrown away, never held), has hung up, or has sent more than
 * `limits.maxBytes` or taken more than `limits.maxMs`.
 */
export function endAfterUnreadBody(request: IncomingMessage, response: ServerResponse, limits: UnreadBodyLimits): void {
  if (request.complete) {
    response.end();
    return;
  }
  let discarded = 0;
  const end = (): void => {
    clearTimeout(timer);
    request.off('data', onData).off('end', end);
    response.off('close', end);
    if (!response.writableEnded) response.end();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > limits.maxBytes) end();
  };
  const timer = setTimeout(end, limits.maxMs);
  request.on('data', onData).on('end', end);
  response.on('close', end);
  request.resume(); // a body refused mid-read was paused
}
