import type { EventQuery } from '../events/event.js';
import { parseSinkFilters } from '../events/parse-event-query.js';
import { HttpError } from '../http/http-error.js';
import { parseJsonBody } from '../http/parse-json.js';

/** A sink's request is a URL and a few filters: anything much larger is not one. */
export const MAX_SINK_REQUEST_BYTES = 16 * 1024;
/** Longest URL a sink may have. */
const MAX_URL_LENGTH = 2048;
/** Most values of one filter (any of them matches). */
const MAX_FILTER_VALUES = 100;

export type SinkRequest = {
  url: string;
  /** The filters as given, checked, as the JSON object kept and shown. */
  filters: Record<string, string[]>;
};

/**
 * POST /sinks: `{"url": "https://…", "filters": {…}}`, the filters optional, named as GET /events'
 * query names them (`user_id`, `event_type`, `data.<field>` or a bare field name) with arrays of
 * strings as values (any of them). A URL is http or https, absolute, without credentials (they
 * would show in GET /sinks; authenticate the receiver by the signature). Anything else is a 400
 * that says what is wrong.
 */
export function parseSinkRequest(body: string): SinkRequest {
  const value = parseJsonBody(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'The request body must be a JSON object with url and, optionally, filters');
  const members = value as Record<string, unknown>;
  for (const name of Object.keys(members)) {
    if (name !== 'url' && name !== 'filters') throw new HttpError(400, `${JSON.stringify(name)} is not a member of a sink: give url and, optionally, filters`);
  }
  return { url: sinkUrl(members.url), filters: sinkFilters(members.filters ?? {}) };
}

/** The events a sink's filters match, as a query of the log (in commit order). */
export function sinkQuery(filters: Record<string, string[]>): EventQuery {
  return parseSinkFilters(filterParams(filters));
}

function sinkUrl(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new HttpError(400, 'url is required: the http or https URL to deliver to');
  if (value.length > MAX_URL_LENGTH) throw new HttpError(400, `url must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HttpError(400, `url is not an absolute URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpError(400, `url must be http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.username !== '' || url.password !== '') throw new HttpError(400, 'url must not hold credentials: GET /sinks shows it; receivers check the signature instead');
  return url.toString();
}

function sinkFilters(value: unknown): Record<string, string[]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'filters must be an object of arrays, such as {"event_type": ["login", "logout"]}');
  }
  const filters: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(value)) {
    if (!Array.isArray(values) || values.length === 0 || values.length > MAX_FILTER_VALUES || !values.every((v) => typeof v === 'string')) {
      throw new HttpError(400, `filters.${name} must be an array of 1 to ${MAX_FILTER_VALUES} strings`);
    }
    filters[name] = values as string[];
  }
  sinkQuery(filters); // the same checks, and messages, as GET /events' query string
  return filters;
}

function filterParams(filters: Record<string, string[]>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, values] of Object.entries(filters)) for (const value of values) params.append(name, value);
  return params;
}
