import { HttpError } from '../http/http-error.js';
import { decodeCursor } from './cursor.js';
import type { DataFilter, EventQuery } from './event.js';
import { oneEditApart } from './one-edit-apart.js';
import { parseInstant } from './parse-instant.js';

/** Largest page a client may ask for with `limit`. */
export const MAX_LIMIT = 10_000;
/** Most query parameters in one request: more is a mistake or an attack, never a real filter. */
export const MAX_QUERY_PARAMETERS = 100;

/** Names with a meaning of their own; any other name (or `data.<name>`) filters `data`. */
const RESERVED = new Set(['user_id', 'event_type', 'since', 'until', 'order', 'limit', 'after']);
const DATA_PREFIX = 'data.';

/**
 * Validates GET /events query parameters. `user_id` is required once; `event_type` may repeat
 * (any of); `since`, `until`, `order`, `limit` and `after` shape the answer and may appear once.
 * `data.<name>` filters the `data` field `<name>`, and so does any other name, except one a single
 * edit away from a reserved name (`ordr`), which is refused as a likely typo; a dotted name
 * reaches into nested objects, and repeating a filter means any of its values.
 */
export function parseEventQuery(params: URLSearchParams): EventQuery {
  if (params.size > MAX_QUERY_PARAMETERS) {
    throw new HttpError(400, `At most ${MAX_QUERY_PARAMETERS} query parameters are accepted, not ${params.size}`);
  }
  for (const [name, value] of params) {
    // No stored event can hold U+0000 (see storable-data.ts), and PostgreSQL refuses it in a parameter.
    if (name.includes('\u0000') || value.includes('\u0000')) {
      throw new HttpError(400, 'Query parameters must not contain U+0000 (%00): no event can hold it');
    }
    refuseLikelyTypo(name);
  }
  const userId = single(params, 'user_id');
  if (userId === undefined) throw new HttpError(400, 'user_id is required');
  if (userId === '') throw new HttpError(400, 'user_id must not be empty');

  const eventTypes = params.getAll('event_type');
  if (eventTypes.includes('')) throw new HttpError(400, 'event_type must not be empty');

  const query: EventQuery = { userId, eventTypes, dataFilters: parseDataFilters(params), order: 'asc' };

  const since = single(params, 'since');
  if (since !== undefined) query.since = instant('since', since);
  const until = single(params, 'until');
  if (until !== undefined) query.until = instant('until', until);
  if (query.since !== undefined && query.until !== undefined && query.since > query.until) {
    throw new HttpError(400, 'since must not be later than until');
  }

  const order = single(params, 'order');
  if (order !== undefined) {
    if (order !== 'asc' && order !== 'desc') throw new HttpError(400, `order must be asc or desc, not "${order}"`);
    query.order = order;
  }

  const limit = single(params, 'limit');
  if (limit !== undefined) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) {
      throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_LIMIT}, not "${limit}"`);
    }
    query.limit = Number(limit);
  }

  const after = single(params, 'after');
  if (after !== undefined) {
    const position = decodeCursor(after);
    if (position === undefined) {
      throw new HttpError(400, 'after must be a cursor from a Link header of this service');
    }
    query.after = position;
  }
  return query;
}

/**
 * A name one edit away from a reserved one (`ordr`, `limt`, `userid`), or the same but for case,
 * `-`, `_` or a trailing `[]` (`ORDER`, `eventType`, `limit[]`), would otherwise filter on a data
 * field nobody has and answer an empty 200; it is refused with the likely meaning instead.
 * `data.<name>` still reaches a field of that name.
 */
function refuseLikelyTypo(name: string): void {
  // A dotted name is a path into data (`user.id`), and no reserved name has a dot.
  if (RESERVED.has(name) || name.includes('.')) return;
  const folded = foldName(name);
  const meant = [...RESERVED].find((reserved) => oneEditApart(name, reserved) || folded === foldName(reserved));
  if (meant !== undefined) {
    throw new HttpError(400, `Unknown parameter "${name}": did you mean "${meant}"? To filter on a data field of that name, write data.${name}`);
  }
}

function foldName(name: string): string {
  return name.toLowerCase().replace(/\[\]$/, '').replace(/[-_]/g, '');
}

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new HttpError(400, `${name} may be given only once`);
  return values[0];
}

function instant(name: string, text: string): number {
  const value = parseInstant(text);
  if (value === undefined) {
    throw new HttpError(400, `${name} must be an ISO 8601 instant such as 2026-11-26T09:30:00Z, not "${text}"`);
  }
  return value;
}

function parseDataFilters(params: URLSearchParams): DataFilter[] {
  const filters = new Map<string, string[]>(); // keyed by the field path as the client named it
  for (const [name, value] of params) {
    if (RESERVED.has(name)) continue;
    if (name === 'data') throw new HttpError(400, 'To filter a field of data, name it: data.<field>');
    const field = name.startsWith(DATA_PREFIX) ? name.slice(DATA_PREFIX.length) : name;
    const values = filters.get(field);
    if (values === undefined) filters.set(field, [value]);
    else values.push(value);
  }
  return [...filters].map(([field, values]) => ({ path: parseFieldPath(field), values }));
}

/** `address.city` → ['address', 'city']. Any characters are allowed in a segment but NUL (refused above). */
function parseFieldPath(name: string): string[] {
  const path = name.split('.');
  if (path.some((segment) => segment === '')) {
    throw new HttpError(400, `"${name}" is not a field name: a dotted path needs a name on each side of every dot`);
  }
  return path;
}
