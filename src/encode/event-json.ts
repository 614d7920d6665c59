import type { StoredEvent } from '../events/event.js';

/**
 * One event in the API's JSON shape. `data` is spliced in as the stored text, so it comes back
 * exactly as the client wrote it (number spelling, key order), without a parse and re-stringify.
 */
export function encodeEventJson(event: StoredEvent): string {
  return (
    `{"id":"${event.id}","timestamp":"${new Date(event.timestampMs).toISOString()}",` +
    `"user_id":${JSON.stringify(event.userId)},"event_type":${JSON.stringify(event.eventType)},` +
    `"data":${event.dataJson}}`
  );
}
