import { HttpError } from '../http/http-error.js';
import { parseJsonBody } from '../http/parse-json.js';
import type { NewEvent } from './event.js';
import { JsonShapeError, JsonTooDeepError, readObjectMembers } from './json-members.js';
import { unstorableJsonReason, unstorableTextReason } from './storable-data.js';
import { isSystemEventType, SYSTEM_EVENT_PREFIX } from './system-event-types.js';

/** How deeply `data` may nest (`data` itself is level 1). SQLite's JSON functions stop at 1000. */
export const MAX_DATA_DEPTH = 64;
/** Longest user_id or event_type, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 512;

const EVENT_PROPERTIES = new Set(['user_id', 'event_type', 'data']);

/**
 * Validates a POST /events body into a NewEvent, or throws a 400 that says what is wrong. Messages
 * about the whole text name it `subject`: the request body, or one event of a batch.
 */
export function parseNewEvent(body: string, subject = 'Request body'): NewEvent {
  const value = parseJsonBody(body, subject);
  if (!isPlainObject(value)) {
    throw new HttpError(400, `${subject} must be a JSON object with user_id, event_type and optional data`);
  }
  for (const name of Object.keys(value)) {
    if (!EVENT_PROPERTIES.has(name)) {
      throw new HttpError(400, `Unknown property "${name}": an event has only user_id, event_type and data`);
    }
  }
  const userId = requireName(value, 'user_id');
  const eventType = requireName(value, 'event_type');
  if (isSystemEventType(eventType)) {
    throw new HttpError(400, `event_type must not begin with "${SYSTEM_EVENT_PREFIX}": those are the service's own records (retention, erasure, legal holds)`);
  }
  if (value.data !== undefined && !isPlainObject(value.data)) {
    throw new HttpError(400, 'data must be a JSON object when it is present');
  }

  let members: Map<string, string>;
  try {
    // The body is level 1 and data level 2. Only data can nest: the other properties are strings.
    members = readObjectMembers(body, MAX_DATA_DEPTH + 1);
  } catch (error) {
    if (error instanceof JsonTooDeepError) {
      throw new HttpError(400, `data is nested more than ${MAX_DATA_DEPTH} levels deep (data itself is level 1): flatten it`);
    }
    if (error instanceof JsonShapeError) throw new HttpError(400, `${subject} has a ${error.message}`);
    throw error;
  }
  const dataJson = members.get('data') ?? '{}';
  const reason = unstorableJsonReason(dataJson);
  if (reason !== undefined) throw new HttpError(400, `data ${reason}`);
  return { userId, eventType, dataJson };
}

function requireName(event: Record<string, unknown>, property: string): string {
  const value = event[property];
  if (value === undefined) throw new HttpError(400, `${property} is required`);
  if (typeof value !== 'string') throw new HttpError(400, `${property} must be a string`);
  if (value === '') throw new HttpError(400, `${property} must not be empty`);
  if (value.length > MAX_NAME_LENGTH) {
    throw new HttpError(400, `${property} must be at most ${MAX_NAME_LENGTH} characters`);
  }
  // A lone surrogate (from a \ud800 escape) cannot be stored as UTF-8 without being altered.
  const reason = unstorableTextReason(value);
  if (reason !== undefined) throw new HttpError(400, `${property} ${reason}`);
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
