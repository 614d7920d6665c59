import type { StoredEvent } from '../events/event.js';
import { PIECE_CHARS, slices } from './text-pieces.js';

/**
 * One event in the API's JSON shape. `data` is spliced in as the stored text, so it comes back
 * exactly as the client wrote it (number spelling, key order), without a parse and re-stringify.
 */
export function encodeEventJson(event: StoredEvent): string {
  return eventJsonHead(event) + event.dataJson + eventJsonTail(event);
}

/**
 * The same text as encodeEventJson: whole for an ordinary event, in parts no longer than about
 * PIECE_CHARS (slices of `data`) for a large one.
 */
export function eventJsonParts(event: StoredEvent): string | Iterable<string> {
  return event.dataJson.length <= PIECE_CHARS ? encodeEventJson(event) : largeEventJsonParts(event);
}

function* largeEventJsonParts(event: StoredEvent): Generator<string> {
  yield eventJsonHead(event);
  yield* slices(event.dataJson);
  yield eventJsonTail(event);
}

function eventJsonHead(event: StoredEvent): string {
  return (
    `{"id":"${event.id}","timestamp":"${new Date(event.timestampMs).toISOString()}",` +
    `"user_id":${JSON.stringify(event.userId)},"event_type":${JSON.stringify(event.eventType)},"data":`
  );
}

/**
 * What follows `data`: nothing more for an event that has its payload; for one whose payload was
 * removed (`data` is then null), the record of it: why, when, and the id of the system event that
 * says so in the log.
 */
function eventJsonTail(event: StoredEvent): string {
  if (event.removed === undefined) return '}';
  const { reason, atMs, by } = event.removed;
  return `,"removed":{"reason":"${reason}","at":"${new Date(atMs).toISOString()}","by":"${by}"}}`;
}
