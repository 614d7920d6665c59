/**
 * One delivery's POST, with node:http over kept-alive connections: undici's fetch cost about a
 * millisecond of CPU per request here (its streams, Headers and signals), which, once per batch,
 * was most of what a sink cost ingest (bench/README.md, "Live streams and webhook sinks").
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Connections kept open per receiver's host: one delivery per sink is in flight at a time. */
const AGENTS = { 'http:': new HttpAgent({ keepAlive: true, maxSockets: 8 }), 'https:': new HttpsAgent({ keepAlive: true, maxSockets: 8 }) };

/** What became of a delivery: the receiver's status, or why there is none. */
export type PostOutcome = { status: number } | { error: string };

export function postDelivery(url: URL, headers: Record<string, string>, body: string, timeoutMs: number, abort: AbortSignal): Promise<PostOutcome> {
  return new Promise((resolve) => {
    const bytes = Buffer.from(body, 'utf8');
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const settle = (outcome: PostOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abort.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const request = send(url, {
      method: 'POST',
      agent: AGENTS[url.protocol as 'http:' | 'https:'],
      headers: { ...headers, 'Content-Length': String(bytes.length) },
    }, (response: IncomingMessage) => {
      response.resume(); // what it says is not read: its status is the answer
      response.once('end', () => settle({ status: response.statusCode ?? 0 }));
      response.once('error', () => settle({ status: response.statusCode ?? 0 }));
    });
    const timer = setTimeout(() => {
      settle({ error: `the receiver did not answer within ${timeoutMs / 1000} s` });
      request.destroy();
    }, timeoutMs);
    const onAbort = (): void => {
      settle({ error: 'the delivery was cut short by the shutdown' });
      request.destroy();
    };
    abort.addEventListener('abort', onAbort);
    request.once('error', (error: NodeJS.ErrnoException) => settle({ error: `the receiver could not be reached: ${error.code ?? error.message}` }));
    request.end(bytes);
  });
}
