import type { EventQuery } from '../../events/event.js';
import { isStorableNumber } from '../number-filter.js';
import { keysetSql } from '../read-in-chunks.js';

export type PostgresQuerySql = {
  /**
   * Selects one chunk after the keyset position ($1 ts, $2 seq), $3 rows at most, ending with the
   * row whose text brings the chunk to $4 bytes. Each row is an EventRow followed by the running
   * size of the chunk up to and including it.
   */
  sql: string;
  /** The parameters from $5 on; the caller puts the keyset position, the limit and the size first. */
  params: unknown[];
};

/**
 * Translates a query into one parameterised SELECT with the matching rules of the SQLite store
 * (event-query-sql.ts): a data filter matches a string field by its value, a number or boolean by
 * its JSON spelling (`100`, `1.50`, `true`); objects, arrays, null and absent fields never match.
 * Only the shape of the query reaches the SQL text; every value, path included, is bound.
 *
 * Each data filter is two conditions. The first, `data_index @> …` (containment, in jsonb), is
 * what the GIN index serves, and holds for every event that matches, but also for some that do not
 * (`1.5` contains `1.50`, numerically). The second decides, on `data` as the client wrote it
 * (`json` keeps the spelling that `jsonb` normalises away).
 */
export function buildPostgresQuerySql(query: EventQuery): PostgresQuerySql {
  const params: unknown[] = [];
  const bind = (value: unknown, type: string): string => {
    params.push(value);
    return `$${params.length + 4}::${type}`;
  };
  const conditions = [`user_id = ${bind(query.userId, 'text')}`];

  if (query.eventTypes.length > 0) conditions.push(`event_type = ANY(${bind(query.eventTypes, 'text[]')})`);

  for (const filter of query.dataFilters) {
    const containments = filter.values
      .flatMap((value) => jsonLeaves(value).map((leaf) => containing(filter.path, leaf)))
      .map((document) => `data_index @> ${bind(document, 'jsonb')}`);
    conditions.push(containments.length === 1 ? containments[0]! : `(${containments.join(' OR ')})`);
    const path = bind(filter.path, 'text[]');
    conditions.push(
      `(CASE WHEN json_typeof(data #> ${path}) IN ('string', 'number', 'boolean') THEN data #>> ${path} END)` +
        ` = ANY(${bind(filter.values, 'text[]')})`,
    );
  }

  if (query.since !== undefined) conditions.push(`ts >= ${bind(query.since, 'bigint')}`);
  if (query.until !== undefined) conditions.push(`ts < ${bind(query.until, 'bigint')}`);

  // The keyset over the (user_id, ts, seq) index. The running size is summed over the rows in
  // order as they come (a window ending at the current row), from the stored data_bytes, so no row
  // is read whole just to be measured; the rows past the size are dropped before any of their data
  // leaves the database.
  const { after, orderBy: order } = keysetSql(query.order, '$1::bigint', '$2::bigint');
  conditions.push(after);
  const sql =
    'SELECT seq, id, ts, user_id, event_type, data, running FROM (' +
    'SELECT seq, id, ts, user_id, event_type, data, size,' +
    ` sum(size) OVER (ORDER BY ${order} ROWS UNBOUNDED PRECEDING) AS running FROM (` +
    'SELECT seq, id, ts, user_id, event_type, data, data_bytes + octet_length(user_id) + octet_length(event_type) AS size FROM events' +
    ` WHERE ${conditions.join(' AND ')} ORDER BY ${order} LIMIT $3) matching) chunk` +
    ` WHERE running - size < $4::bigint ORDER BY ${order}`;

  return { sql, params };
}

/** The JSON values a field matching `value` can hold: the string, and the number or boolean so spelled. */
function jsonLeaves(value: string): string[] {
  const leaves = [JSON.stringify(value)];
  if (value === 'true' || value === 'false') leaves.push(value);
  else if (isStorableNumber(value)) leaves.push(value);
  return leaves;
}

/** The JSON document with `leaf` at `path`: ['a', 'b'], '1' → {"a":{"b":1}}. */
function containing(path: readonly string[], leaf: string): string {
  return path.reduceRight((inner, segment) => `{${JSON.stringify(segment)}:${inner}}`, leaf);
}
