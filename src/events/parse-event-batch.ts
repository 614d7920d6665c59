import { HttpError } from '../http/http-error.js';
import { parseJsonBody } from '../http/parse-json.js';
import type { NewEvent } from './event.js';
import { JsonShapeError, readArrayElements } from './json-members.js';
import { parseNewEvent } from './parse-new-event.js';

/** Most events in one POST /events/batch. */
export const MAX_BATCH_EVENTS = 1000;

/**
 * Validates a POST /events/batch body, a JSON array of events, as a whole: every event by the
 * rules of POST /events, each keeping its `data` as written. When any is wrong, one 400 lists
 * each bad event's index and what is wrong with it, and nothing is stored.
 */
export function parseEventBatch(body: string): NewEvent[] {
  const value = parseJsonBody(body);
  if (!Array.isArray(value)) throw new HttpError(400, 'Request body must be a JSON array of events');
  if (value.length === 0) throw new HttpError(400, `The batch is empty: send 1 to ${MAX_BATCH_EVENTS} events`);
  if (value.length > MAX_BATCH_EVENTS) {
    throw new HttpError(400, `The batch has ${value.length} events; at most ${MAX_BATCH_EVENTS} are accepted`);
  }

  let elements: string[];
  try {
    // No depth limit here: each event's parse below applies it and names the event's index. The
    // pass is iterative, and JSON.parse has already read the body, so no depth overflows a stack.
    elements = readArrayElements(body, Number.POSITIVE_INFINITY);
  } catch (error) {
    if (error instanceof JsonShapeError) throw new HttpError(400, `Request body has a ${error.message}`);
    throw error;
  }
  const events: NewEvent[] = [];
  const errors: Array<{ index: number; message: string }> = [];
  elements.forEach((element, index) => {
    try {
      events.push(parseNewEvent(element, 'The event'));
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      errors.push({ index, message: error.message });
    }
  });
  if (errors.length > 0) {
    throw new HttpError(400, `${errors.length} of ${elements.length} events are invalid; nothing was stored`, {}, { details: { errors } });
  }
  return events;
}
