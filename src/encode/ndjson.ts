import type { StoredEvent } from '../events/event.js';
import { encodeEventJson } from './event-json.js';

/**
 * Streams events as NDJSON: one event per line. Stored `data` is minified, so an event never
 * spans two lines.
 */
export async function* encodeNdjson(chunks: AsyncIterable<readonly StoredEvent[]>): AsyncIterable<string> {
  for await (const events of chunks) {
    if (events.length > 0) yield events.map(encodeEventJson).join('\n') + '\n';
  }
}
