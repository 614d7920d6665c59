import { HttpError } from '../http/http-error.js';
import { decodeCursor } from './cursor.js';
import type { DataFilter, EventQuery, Position, SummaryGrouping } from './event.js';
import { parseFieldPath } from './field-path.js';
import { oneEditApart } from './one-edit-apart.js';
import { parseInstant } from './parse-instant.js';

/** Largest page a client may ask for with `limit`. */
export const MAX_LIMIT = 10_000;
/**
 * The page a query across users answers without `limit` (or `all=true`): the first events and a
 * `Link` to the rest, rather than the whole log in one answer nobody meant to ask for.
 */
export const DEFAULT_CROSS_USER_LIMIT = 100;
/** Most query parameters in one request: more is a mistake or an attack, never a real filter. */
export const MAX_QUERY_PARAMETERS = 100;

/** The names GET /events and GET /events/summary share: who, what and when. */
const FILTERS = ['user_id', 'event_type', 'since', 'until', 'order'];
/** The names each route gives a meaning of its own; any other name (or `data.<name>`) filters `data`. */
const EVENTS_NAMES = new Set([...FILTERS, 'limit', 'after', 'all']);
const SUMMARY_NAMES = new Set([...FILTERS, 'group_by']);
/** A stream runs forward from where it starts: `after` (or Last-Event-ID), else from now. */
const STREAM_NAMES = new Set(['user_id', 'event_type', 'after']);
/** A webhook sink delivers what comes after its creation: only who and what. */
const SINK_NAMES = new Set(['user_id', 'event_type']);
/** Names meant for the other routes: refused by name rather than taken for a data field. */
const ALL_NAMES = new Set([...EVENTS_NAMES, ...SUMMARY_NAMES]);
/**
 * Too short to refuse their neighbours as typos: `call`, `wall` and `al` are plausible data fields,
 * so only case, `-`, `_` and `[]` variants of them are refused.
 */
const SHORT_NAMES = new Set(['all']);
const GROUPINGS: readonly SummaryGrouping[] = ['event_type', 'user_id', 'hour', 'day'];
const DATA_PREFIX = 'data.';

/**
 * Validates GET /events query parameters. `user_id` may be given once (one user's events) or left
 * out (every user's, a first page of DEFAULT_CROSS_USER_LIMIT unless `limit` or `all=true` says
 * otherwise); `event_type` may repeat (any of); `since`, `until`, `order`, `limit`, `after` and
 * `all` shape the answer and may appear once. `data.<name>` filters the `data` field `<name>`, and
 * so does any other name, except one a single edit away from a reserved name (`ordr`), which is
 * refused as a likely typo; a dotted name reaches into nested objects, and repeating a filter
 * means any of its values.
 */
export function parseEventQuery(params: URLSearchParams): EventQuery {
  const query = parseFilters(params, EVENTS_NAMES, '/events');

  const limit = single(params, 'limit');
  if (limit !== undefined) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) {
      throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_LIMIT}, not "${limit}"`);
    }
    query.limit = Number(limit);
  }

  const all = single(params, 'all');
  if (all !== undefined && all !== 'true' && all !== 'false') throw new HttpError(400, `all must be true or false, not "${all}"`);
  if (all === 'true' && query.limit !== undefined) throw new HttpError(400, 'Give limit or all=true, not both: all=true asks for every matching event');
  if (query.userId === undefined && query.limit === undefined && all !== 'true') query.limit = DEFAULT_CROSS_USER_LIMIT;

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
 * Validates GET /events/stream query parameters: the filters of GET /events but for time and order
 * (`user_id` optional), and `after`, a cursor to resume after (an SSE message's id, or a `Link`'s).
 */
export function parseStreamQuery(params: URLSearchParams): { query: EventQuery; after: Position | undefined } {
  const query = parseFilters(params, STREAM_NAMES, '/events/stream');
  const after = single(params, 'after');
  return { query, after: after === undefined ? undefined : streamCursor(after, 'after') };
}

/** Validates a webhook sink's filters, given as query parameters (see parse-sink-request.ts). */
export function parseSinkFilters(params: URLSearchParams): EventQuery {
  return parseFilters(params, SINK_NAMES, "a sink's filters");
}

/** The position in a stream's cursor (`after`, or the Last-Event-ID header). */
export function streamCursor(text: string, name: string): Position {
  const position = decodeCursor(text);
  if (position === undefined) throw new HttpError(400, `${name} must be the id of a message of this service's stream, or a cursor from its Link headers`);
  return position;
}

/**
 * Validates GET /events/summary query parameters: the filters of GET /events (`user_id`
 * optional), and `group_by`, required, one of event_type, user_id, hour or day.
 */
export function parseSummaryQuery(params: URLSearchParams): { query: EventQuery; groupBy: SummaryGrouping } {
  const query = parseFilters(params, SUMMARY_NAMES, '/events/summary');
  const groupBy = single(params, 'group_by');
  if (groupBy === undefined) throw new HttpError(400, `group_by is required: one of ${GROUPINGS.join(', ')}`);
  if (!(GROUPINGS as readonly string[]).includes(groupBy)) {
    throw new HttpError(400, `group_by must be one of ${GROUPINGS.join(', ')}, not "${groupBy}"`);
  }
  return { query, groupBy: groupBy as SummaryGrouping };
}

/** The filters both routes share, checked against the names `route` knows. */
function parseFilters(params: URLSearchParams, names: ReadonlySet<string>, route: string): EventQuery {
  if (params.size > MAX_QUERY_PARAMETERS) {
    throw new HttpError(400, `At most ${MAX_QUERY_PARAMETERS} query parameters are accepted, not ${params.size}`);
  }
  for (const [name, value] of params) {
    // No stored event can hold U+0000 (see storable-data.ts), and PostgreSQL refuses it in a parameter.
    if (name.includes('\u0000') || value.includes('\u0000')) {
      throw new HttpError(400, 'Query parameters must not contain U+0000 (%00): no event can hold it');
    }
    if (ALL_NAMES.has(name) && !names.has(name)) {
      throw new HttpError(400, `${name} is not a parameter of ${route}; to filter on a data field of that name, write data.${name}`);
    }
    refuseLikelyTypo(name);
  }
  const userId = single(params, 'user_id');
  if (userId === '') throw new HttpError(400, 'user_id must not be empty');

  const eventTypes = params.getAll('event_type');
  if (eventTypes.includes('')) throw new HttpError(400, 'event_type must not be empty');

  const query: EventQuery = { eventTypes, dataFilters: parseDataFilters(params), order: 'asc' };
  if (userId !== undefined) query.userId = userId;

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
  if (ALL_NAMES.has(name) || name.includes('.')) return;
  const folded = foldName(name);
  const meant = [...ALL_NAMES].find((reserved) => (!SHORT_NAMES.has(reserved) && oneEditApart(name, reserved)) || folded === foldName(reserved));
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
    if (ALL_NAMES.has(name)) continue;
    if (name === 'data') throw new HttpError(400, 'To filter a field of data, name it: data.<field>');
    const field = name.startsWith(DATA_PREFIX) ? name.slice(DATA_PREFIX.length) : name;
    const values = filters.get(field);
    if (values === undefined) filters.set(field, [value]);
    else values.push(value);
  }
  return [...filters].map(([field, values]) => {
    const path = parseFieldPath(field);
    if (path === undefined) throw new HttpError(400, `"${field}" is not a field name: a dotted path needs a name on each side of every dot`);
    return { path, values };
  });
}
