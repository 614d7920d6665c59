/**
 * The ingest's reference: bare node:http doing what POST /events must do, and nothing of the app.
 * It checks the key, reads the body (up to the service's 1 MiB), parses and validates the event
 * (an object of user_id and event_type, non-empty strings of at most 512 characters, and an
 * optional data object, nothing else), serialises its data, mints a UUIDv7 and a timestamp, and
 * answers the 201 the service answers, with the same headers. No router, log line, metrics,
 * request memory or storage: what it takes is the physical limit of a request on this machine.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { createUuidV7Generator } from '../src/events/uuid-v7.js';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_NAME_LENGTH = 512;
const KEY = process.env.AUDITOR_API_KEY;
const nextId = createUuidV7Generator();

const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/events') return answer(response, 404, { message: 'No such endpoint' });
  if (request.headers['x-api-key'] !== KEY) return answer(response, 401, { message: 'Missing or invalid API key' });
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  request.on('end', () => {
    if (size > MAX_BODY_BYTES) return answer(response, 413, { message: 'Request body too large' });
    let event: unknown;
    try {
      event = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
    } catch {
      return answer(response, 400, { message: 'Request body must be valid JSON' });
    }
    const problem = invalid(event);
    if (problem !== undefined) return answer(response, 400, { message: problem });
    const { data } = event as { data?: object };
    JSON.stringify(data ?? {}); // the data's text, as the service makes it to store
    const { id } = nextId();
    answer(response, 201, { message: 'Event recorded', id }, { Location: `/events/${id}` });
  });
});

function invalid(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return 'Request body must be a JSON object';
  for (const name of Object.keys(event)) {
    if (name !== 'user_id' && name !== 'event_type' && name !== 'data') return `Unknown property "${name}"`;
  }
  const { user_id: userId, event_type: eventType, data } = event as Record<string, unknown>;
  for (const name of [userId, eventType]) {
    if (typeof name !== 'string' || name === '' || name.length > MAX_NAME_LENGTH) return 'user_id and event_type must be non-empty strings';
  }
  if (data !== undefined && (typeof data !== 'object' || data === null || Array.isArray(data))) return 'data must be a JSON object';
  return undefined;
}

function answer(response: ServerResponse, status: number, body: object, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'X-Request-Id': randomUUID(),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Type': 'application/json; charset=utf-8',
    ...extra,
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close());
