import type { StoredEvent } from '../events/event.js';
import { encodeInPieces } from './encode-in-pieces.js';
import { eventJsonParts } from './event-json.js';

/** Streams chunks of events as one JSON array, in pieces of bounded size. */
export function encodeJsonArray(chunks: AsyncIterable<readonly StoredEvent[]>): AsyncIterable<string | Uint8Array> {
  return encodeInPieces(chunks, { head: '[', between: ',', after: '', tail: ']', encode: eventJsonParts });
}
