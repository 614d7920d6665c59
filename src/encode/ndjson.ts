import type { StoredEvent } from '../events/event.js';
import { encodeInPieces, type EventLayout } from './encode-in-pieces.js';
import { eventJsonParts } from './event-json.js';

/**
 * Events as NDJSON: one event per line. Stored `data` is minified, so an event never spans two
 * lines.
 */
export const NDJSON: EventLayout = { head: '', between: '', after: '\n', tail: '', encode: eventJsonParts };

/** Streams chunks of events as NDJSON, in pieces of bounded size. */
export function encodeNdjson(chunks: AsyncIterable<readonly StoredEvent[]>): AsyncIterable<string | Uint8Array> {
  return encodeInPieces(chunks, NDJSON);
}
