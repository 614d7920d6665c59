import type { StoredEvent } from '../events/event.js';
import { encodeInPieces, type EventLayout } from './encode-in-pieces.js';
import { eventJsonParts } from './event-json.js';

/** Events as one JSON array. */
export const JSON_ARRAY: EventLayout = { head: '[', between: ',', after: '', tail: ']', encode: eventJsonParts };

/** Streams chunks of events as one JSON array, in pieces of bounded size. */
export function encodeJsonArray(chunks: AsyncIterable<readonly StoredEvent[]>): AsyncIterable<string | Uint8Array> {
  return encodeInPieces(chunks, JSON_ARRAY);
}
