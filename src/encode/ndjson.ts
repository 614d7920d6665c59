import type { StoredEvent } from '../events/event.js';
import { encodeInPieces } from './encode-in-pieces.js';
import { eventJsonParts } from './event-json.js';

/**
 * Streams events as NDJSON: one event per line. Stored `data` is minified, so an event never
 * spans two lines.
 */
export function encodeNdjson(chunks: AsyncIterable<readonly StoredEvent[]>): AsyncIterable<string | Uint8Array> {
  return encodeInPieces(chunks, { head: '', between: '', after: '\n', tail: '', encode: eventJsonParts });
}
