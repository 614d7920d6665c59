import { HttpError } from '../http/http-error.js';
import type { DataFilter, EventQuery } from './event.js';

/**
 * Validates GET /events query parameters. `user_id` is required once; `event_type` may repeat
 * (any of); every other name filters the `data` field of that name, a dotted name reaching into
 * nested objects, and repeating it means any of its values.
 */
export function parseEventQuery(params: URLSearchParams): EventQuery {
  const userIds = params.getAll('user_id');
  if (userIds.length === 0) throw new HttpError(400, 'user_id is required');
  if (userIds.length > 1) throw new HttpError(400, 'user_id may be given only once');
  const userId = userIds[0]!;
  if (userId === '') throw new HttpError(400, 'user_id must not be empty');

  const eventTypes = params.getAll('event_type');
  if (eventTypes.includes('')) throw new HttpError(400, 'event_type must not be empty');

  const filters = new Map<string, string[]>();
  for (const [name, value] of params) {
    if (name === 'user_id' || name === 'event_type') continue;
    const values = filters.get(name);
    if (values === undefined) filters.set(name, [value]);
    else values.push(value);
  }
  const dataFilters: DataFilter[] = [];
  for (const [name, values] of filters) dataFilters.push({ path: parseFieldPath(name), values });

  return { userId, eventTypes, dataFilters };
}

/** `address.city` → ['address', 'city']. Any characters are allowed in a segment but NUL. */
function parseFieldPath(name: string): string[] {
  const path = name.split('.');
  if (path.some((segment) => segment === '')) {
    throw new HttpError(400, `"${name}" is not a field name: a dotted path needs a name on each side of every dot`);
  }
  if (name.includes('\u0000')) throw new HttpError(400, 'A field name must not contain U+0000');
  return path;
}
