import type { StoredEvent } from '../events/event.js';
import { PIECE_CHARS, slices } from './text-pieces.js';

/**
 * One event in the API's JSON shape. `data` is spliced in as the stored text, so it comes back
 * exactly as the client wrote it (number spelling, key order), without a parse and re-stringify.
 */
export function encodeEventJson(event: StoredEvent): string {
  return eventJsonHead(event) + event.dataJson + '}';
}

/**
 * The same text as encodeEventJson, in parts no longer than about PIECE_CHARS: one part for an
 * ordinary event, slices of `data` for a large one.
 */
export function* eventJsonParts(event: StoredEvent): Generator<string> {
  if (event.dataJson.length <= PIECE_CHARS) {
    yield encodeEventJson(event);
    return;
  }
  yield eventJsonHead(event);
  yield* slices(event.dataJson);
  yield '}';
}

function eventJsonHead(event: StoredEvent): string {
  return (
    `{"id":"${event.id}","timestamp":"${new Date(event.timestampMs).toISOString()}",` +
    `"user_id":${JSON.stringify(event.userId)},"event_type":${JSON.stringify(event.eventType)},"data":`
  );
}
