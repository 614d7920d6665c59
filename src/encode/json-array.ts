import type { StoredEvent } from '../events/event.js';
import { encodeEventJson } from './event-json.js';

/** Streams chunks of events as one JSON array, one string per chunk. */
export async function* encodeJsonArray(chunks: AsyncIterable<readonly StoredEvent[]>): AsyncIterable<string> {
  let opened = false;
  for await (const events of chunks) {
    if (events.length === 0) continue;
    yield (opened ? ',' : '[') + events.map(encodeEventJson).join(',');
    opened = true;
  }
  yield opened ? ']' : '[]';
}
