/**
 * A search as the page holds it, and its two spellings: the location's hash (so that a search can
 * be bookmarked and shared; never the key) and GET /events's query string. The hash uses the
 * API's own parameter names, so a link and a curl line read alike.
 */
export type Search = {
  userId: string;
  eventTypes: string[];
  /** `data` fields (dotted names reach nested ones) and the value each must equal. */
  filters: DataFilter[];
  /** ISO 8601 instants, or '' for no bound. */
  since: string;
  until: string;
  order: 'asc' | 'desc';
};

export type DataFilter = { name: string; value: string };

export const EMPTY_SEARCH: Search = { userId: '', eventTypes: [], filters: [], since: '', until: '', order: 'desc' };

/** The events asked for per page: a page renders at once, and "Load more" follows the cursor. */
export const PAGE_SIZE = 100;

const DATA_PREFIX = 'data.';

export function parseSearch(query: string): Search {
  const params = new URLSearchParams(query);
  const search: Search = { ...EMPTY_SEARCH, eventTypes: [], filters: [] };
  for (const [name, value] of params) {
    if (name === 'user_id') search.userId = value;
    else if (name === 'event_type') search.eventTypes.push(value);
    else if (name === 'since') search.since = value;
    else if (name === 'until') search.until = value;
    else if (name === 'order') search.order = value === 'asc' ? 'asc' : 'desc';
    else if (name.startsWith(DATA_PREFIX)) search.filters.push({ name: name.slice(DATA_PREFIX.length), value });
  }
  return search;
}

/** The parameters of a search, as both the hash and the API read them. */
export function searchParams(search: Search): URLSearchParams {
  const params = new URLSearchParams();
  if (search.userId !== '') params.set('user_id', search.userId);
  for (const type of search.eventTypes) if (type !== '') params.append('event_type', type);
  for (const { name, value } of search.filters) {
    const field = name.startsWith(DATA_PREFIX) ? name.slice(DATA_PREFIX.length) : name;
    if (field !== '') params.append(DATA_PREFIX + field, value);
  }
  if (search.since !== '') params.set('since', search.since);
  if (search.until !== '') params.set('until', search.until);
  params.set('order', search.order);
  return params;
}

/** "login, logout ,," → ["login", "logout"]. */
export function splitTypes(text: string): string[] {
  return text.split(',').map((type) => type.trim()).filter((type) => type !== '');
}

/** A datetime-local field's value (the viewer's zone) as an ISO instant, or '' when empty or unreadable. */
export function localToIso(local: string): string {
  if (local === '') return '';
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** An ISO instant as a datetime-local field shows it, in the viewer's zone. */
export function isoToLocal(iso: string): string {
  const date = new Date(iso);
  if (iso === '' || Number.isNaN(date.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
