import { setTimeout as sleep } from 'node:timers/promises';
import { encodeCursor } from '../events/cursor.js';
import type { EventQuery, Position, StoredEvent } from '../events/event.js';
import { encodeEventJson } from '../encode/event-json.js';
import { parseStreamQuery, streamCursor } from '../events/parse-event-query.js';
import { HttpError } from '../http/http-error.js';
import type { MemoryBudget } from '../http/memory-budget.js';
import type { RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';
import { headPosition } from '../stream/head-position.js';
import type { LiveStreams, OpenStream } from '../stream/live-streams.js';
import { startReading, type StartedReading } from './metered-chunks.js';

/** Most events read per query; a chunk is also bounded by size (CHUNK_SIZE), and a stream reads one chunk at a time. */
const READ_EVENTS = 1000;
/** How long a client waits before it reconnects after the stream ends, in ms (the SSE `retry` field). */
const RECONNECT_MS = 1000;
/** How long a stream waits, when the answers' memory is full, before it tries again. */
const BUSY_RETRY_MS = 1000;
/** The shortest time between two reads of a stream that is keeping up, in ms (see messages). */
const COALESCE_MS = 50;

/** What the last message of a stream says before its connection is cut (an SSE event named `closed`). */
export function closingMessage(reason: 'slow' | 'shutdown' | 'failed'): string {
  const message = {
    slow: 'the client read too slowly: its stream was closed; reconnect with Last-Event-ID (the last id received) to resume',
    shutdown: 'the service is stopping: reconnect (with Last-Event-ID) to resume, here or at another instance',
    failed: 'the database could not be read: reconnect (with Last-Event-ID) to resume',
  }[reason];
  return `event: closed\ndata: ${JSON.stringify({ reason, message })}\n\n`;
}

/**
 * GET /events/stream: Server-Sent Events of the matching events, in commit order, each with its
 * cursor as the message id. It starts after `after` or the Last-Event-ID header (a reconnecting
 * client's), replaying what the client missed, else after the log's last event; then it waits for
 * commits (see commit-signal.ts) and sends what they added, with a comment every heartbeat while
 * idle. Events are read a bounded chunk at a time, each written out before the next is read, so a
 * client that reads slowly holds one chunk, never more; one that stops reading is cut off by the
 * router's stalled-client timeout, with a last `closed` message. A key holds at most
 * AUDITOR_STREAMS_PER_KEY streams: one more is a 429.
 */
export function createGetEventStreamRoute(store: EventStore, streams: LiveStreams, budget: MemoryBudget): RouteHandler {
  return async (request, { params, caller }) => {
    const parsed = parseStreamQuery(params);
    const lastEventId = request.headers['last-event-id'];
    // A reconnecting EventSource sends where it got to; the URL still holds where it first began.
    const after = typeof lastEventId === 'string' && lastEventId !== '' ? streamCursor(lastEventId, 'Last-Event-ID') : parsed.after;
    const holder = caller?.keyName ?? '';
    const stream = streams.open(holder);
    if (stream === undefined) {
      throw new HttpError(429, 'This key has as many streams open as it may (AUDITOR_STREAMS_PER_KEY); close one, or retry later', { 'Retry-After': '5' });
    }
    // The socket, not the request: a request's 'close' comes once its (empty) body is read.
    const { socket } = request;
    const onGone = (): void => stream.close('client');
    socket.once('close', onGone);
    stream.abort.addEventListener('abort', () => socket.off('close', onGone), { once: true });
    let start: Position;
    try {
      start = after ?? (await headPosition(store));
    } catch (error) {
      stream.close('failed');
      throw error;
    }
    return {
      status: 200,
      contentType: 'text/event-stream; charset=utf-8',
      // Proxies such as nginx buffer an answer unless told not to: a stream must go out as it is written.
      headers: { 'X-Accel-Buffering': 'no' },
      compress: false,
      farewell: closingMessage('slow'),
      onCut: () => stream.close('slow'),
      chunks: messages(store, streams, stream, parsed.query, start, budget, holder),
    };
  };
}

async function* messages(
  store: EventStore, streams: LiveStreams, stream: OpenStream, filters: EventQuery, start: Position, budget: MemoryBudget, holder: string,
): AsyncGenerator<string> {
  const watch = streams.signal.watch();
  const filterKey = JSON.stringify(filters);
  let position = start;
  let lastWrittenMs = Date.now();
  let lastReadMs = 0;
  try {
    yield `retry: ${RECONNECT_MS}\n: stream of events after ${encodeCursor(position)}\n\n`;
    while (!stream.abort.aborted) {
      const changed = await watch.changed(streams.heartbeatMs - (Date.now() - lastWrittenMs), stream.abort);
      if (stream.abort.aborted) break;
      // Quiet for a heartbeat's time, whether nothing was committed or nothing that matches.
      if (Date.now() - lastWrittenMs >= streams.heartbeatMs) {
        yield ': heartbeat\n\n';
        lastWrittenMs = Date.now();
      }
      if (!changed) continue;
      // Under a steady flow of commits, one read per COALESCE_MS carries all of them: a read (and
      // a write to the socket) per commit per stream would cost more than the commits themselves.
      // Those reads fall on the same ticks of the clock for every stream, so that streams with the
      // same filters read the same chunk once between them (see shared-reads.ts).
      const now = Date.now();
      if (now - lastReadMs < COALESCE_MS) await sleep(COALESCE_MS - (now % COALESCE_MS), undefined, { signal: stream.abort }).catch(() => undefined);
      if (stream.abort.aborted) break;
      lastReadMs = Date.now();
      // Read to the end of what is there now, a chunk at a time, each held in the answers' memory
      // until it is written out (see startReading), or taken from another stream's same read.
      for (let more = true; more && !stream.abort.aborted;) {
        const shared = streams.shared.get(filterKey, position);
        if (shared !== undefined) {
          position = shared.last;
          more = shared.more;
          yield shared.text;
          lastWrittenMs = Date.now();
          continue;
        }
        let reading: StartedReading;
        try {
          reading = await startReading(store.query({ ...filters, order: 'asc', after: position, limit: READ_EVENTS }), budget, holder);
        } catch (error) {
          if (!(error instanceof HttpError && error.status === 503)) throw error;
          await watch.changed(BUSY_RETRY_MS, stream.abort); // the memory is full: wait, and try again
          continue;
        }
        const chunk = reading.first;
        if (chunk === undefined || chunk.length === 0) {
          await reading.stop();
          break;
        }
        let text: string;
        const from = position;
        try {
          text = encodeMessages(chunk);
          const last = chunk[chunk.length - 1]!;
          position = { timestampMs: last.timestampMs, seq: last.seq };
          // A chunk the store knows ends the answer ends what is there, unless the limit ended it.
          more = chunk.last !== true || chunk.length === READ_EVENTS;
          streams.shared.set(filterKey, from, { text, last: position, more });
          yield text;
        } finally {
          await reading.stop(); // the chunk is written out: its memory goes back
        }
        lastWrittenMs = Date.now();
      }
    }
    if (stream.endedBy === 'shutdown') yield closingMessage('shutdown');
  } catch (error) {
    // The database failed mid-stream: say so, and let the client resume from its last id.
    stream.close('failed');
    yield closingMessage('failed');
    throw error;
  } finally {
    watch.close();
    stream.close('client'); // whatever ended it first is what it is counted as
  }
}

/**
 * The chunk's events as SSE messages: each event's JSON (as GET /events gives it) as its data, its
 * cursor as its id. An event's JSON may hold line breaks between its tokens (data is kept as it was
 * sent): each line becomes a `data:` line, which a client joins again with line feeds.
 */
function encodeMessages(events: readonly StoredEvent[]): string {
  let text = '';
  for (const event of events) {
    const json = encodeEventJson(event);
    text += `id: ${encodeCursor(event)}\ndata: ${/[\r\n]/.test(json) ? dataLines(json) : json}\n\n`;
  }
  return text;
}

/** JSON with line breaks between its tokens (data is kept as it was sent) as one `data:` line each, which a client joins again with line feeds. */
function dataLines(json: string): string {
  return json.split(/\r\n|\r|\n/).join('\ndata: ');
}
