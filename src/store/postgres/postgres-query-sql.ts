import type { EventQuery, SummaryGrouping } from '../../events/event.js';
import { declaredField, type IndexedField } from '../indexed-fields.js';
import { isStorableNumber } from '../number-filter.js';
import { EVENT_COLUMNS, keysetSql } from '../read-in-chunks.js';
import { orderedSeqBoundSql, seqBoundSql } from '../seq-of-time.js';
import { countableInIndexes, MAX_COUNTED_GROUPS } from '../summary-groups.js';

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
 * Only the shape of the query, and the names of declared fields, reach the SQL text; every value
 * is bound.
 *
 * One user's query is read in (ts, seq) order, which the (user_id, ts, seq) index serves, as the
 * seed's queries always were. A query across users is read in seq order, which is time order (see
 * seq-of-time.ts), between the seq bounds of its time range: the primary key, events_by_type and
 * the declared fields' indexes all serve it, and PostgreSQL's planner, which keeps statistics as
 * the table grows, picks among them and the GIN index.
 */
export function buildPostgresQuerySql(query: EventQuery, fields: readonly IndexedField[]): PostgresQuerySql {
  const params: unknown[] = [];
  const bind = (value: unknown, type: string): string => {
    params.push(value);
    return `$${params.length + 4}::${type}`;
  };
  const conditions = matchConditions(query, fields, bind);

  let order: string;
  if (query.userId !== undefined) {
    const keyset = keysetSql(query.order, '$1::bigint', '$2::bigint');
    conditions.push(keyset.after);
    order = keyset.orderBy;
  } else {
    // After the keyset position in seq alone, as seq follows time; its time bound holds for every
    // row after it too, and names $1, which PostgreSQL must see to know its type.
    conditions.push(query.order === 'desc' ? 'seq < $2::bigint AND ts <= $1::bigint' : 'seq > $2::bigint AND ts >= $1::bigint');
    order = `seq ${query.order === 'desc' ? 'DESC' : 'ASC'}`;
  }
  // The running size is summed over the rows in order as they come (a window ending at the current
  // row), from the stored data_bytes, so no row is read whole just to be measured; the rows past
  // the size are dropped before any of their data leaves the database.
  const sql =
    `SELECT ${EVENT_COLUMNS}, running FROM (` +
    `SELECT ${EVENT_COLUMNS}, size,` +
    ` sum(size) OVER (ORDER BY ${order} ROWS UNBOUNDED PRECEDING) AS running FROM (` +
    `SELECT ${EVENT_COLUMNS}, data_bytes + octet_length(user_id) + octet_length(event_type) AS size FROM events` +
    ` WHERE ${conditions.join(' AND ')} ORDER BY ${order} LIMIT $3) matching) chunk` +
    ` WHERE running - size < $4::bigint ORDER BY ${order}`;

  return { sql, params };
}

/** The SQL expression of a summary's group key: an hour's or a day's first instant, in ms (UTC). */
const GROUP_KEYS: Record<SummaryGrouping, string> = {
  event_type: 'event_type',
  user_id: 'user_id',
  hour: 'ts - ts % 3600000',
  day: 'ts - ts % 86400000',
};

/** Counts the query's events by `groupBy`: one row per group, one more than MAX_COUNTED_GROUPS at most. Parameters from $1. */
export function buildPostgresSummarySql(query: EventQuery, groupBy: SummaryGrouping, fields: readonly IndexedField[], typeBounds?: TypeCountBounds): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const bind = (value: unknown, type: string): string => {
    params.push(value);
    return `$${params.length}::${type}`;
  };
  if (countableInIndexes(query, groupBy)) return indexSummarySql(query, groupBy, groupBy === 'event_type' ? typeBounds : undefined, bind, params);
  const conditions = matchConditions(query, fields, bind);
  const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
  return { sql: `SELECT ${GROUP_KEYS[groupBy]} AS key, count(*)::integer AS count FROM events${where} GROUP BY 1 LIMIT ${MAX_COUNTED_GROUPS + 1}`, params };
}

/**
 * Where a summary by type over a time range counts (see indexSummarySql): the seqs of the range
 * within the part of the log in time order, where that part begins, and the latest time before it.
 */
export type TypeCountBounds = { fromSeq: number; toSeq: number; orderedFromSeq: number; earlierMaxTs: number | null };

/** Reads the TypeCountBounds of `query`'s time range, in one statement (parameters from $1). */
export function buildTypeCountBoundsSql(query: EventQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const bound = (time: number | undefined, none: string) => {
    if (time === undefined) return none;
    params.push(time);
    return `(${orderedSeqBoundSql(`$${params.length}::bigint`)})`;
  };
  return {
    sql: `SELECT ${bound(query.since, '0')} AS "fromSeq", ${bound(query.until, String(Number.MAX_SAFE_INTEGER))} AS "toSeq",` +
      ' coalesce((SELECT ordered_from_seq FROM time_order), 1) AS "orderedFromSeq", (SELECT earlier_max_ts FROM time_order) AS "earlierMaxTs"',
    params,
  };
}

/**
 * A summary by type or user with nothing but a time range to filter, each group counted in its own
 * index without reading a row: the groups are the query's types, or found one index seek at a time
 * (the next value after the last: a loose index scan, which PostgreSQL 15 does not do by itself),
 * each counted once (LATERAL). A user is counted over the user's (user_id, ts, seq) entries in the
 * range; a type over its entries in events_by_type between the range's seqs, read beforehand
 * (`bounds`) so that the planner plans with them; where the log is not in time order (seq-of-time.ts)
 * and the range reaches back there, by reading those rows for their times too.
 */
function indexSummarySql(query: EventQuery, groupBy: 'event_type' | 'user_id', bounds: TypeCountBounds | undefined, bind: (value: unknown, type: string) => string, params: unknown[]): { sql: string; params: unknown[] } {
  const column = groupBy;
  // Bound where used: PostgreSQL refuses a parameter no statement names the type of.
  const times = () => [
    ...(query.since === undefined ? [] : [`ts >= ${bind(query.since, 'bigint')}`]),
    ...(query.until === undefined ? [] : [`ts < ${bind(query.until, 'bigint')}`]),
  ];
  const keys = query.eventTypes.length > 0
    ? `keys(key) AS (SELECT DISTINCT unnest(${bind(query.eventTypes, 'text[]')}))`
    : `keys(key) AS (SELECT min(${column}) FROM events UNION ALL` +
      ` SELECT (SELECT min(${column}) FROM events WHERE ${column} > keys.key) FROM keys WHERE keys.key IS NOT NULL)`;
  const counting = (conditions: string[]) => `(SELECT count(*) FROM events WHERE ${[`${column} = keys.key`, ...conditions].join(' AND ')})`;
  let count: string;
  if (bounds === undefined) {
    count = counting(times());
  } else {
    const fromSeq = bind(Math.max(bounds.fromSeq, bounds.orderedFromSeq), 'bigint');
    count = counting([`seq >= ${fromSeq}`, `seq < ${bind(bounds.toSeq, 'bigint')}`]);
    if (bounds.earlierMaxTs !== null && (query.since === undefined || query.since <= bounds.earlierMaxTs)) {
      count += ` + ${counting([`seq < ${bind(bounds.orderedFromSeq, 'bigint')}`, ...times()])}`;
    }
  }
  return {
    sql: `WITH RECURSIVE ${keys} SELECT key, counted.count FROM keys, LATERAL (SELECT (${count})::integer AS count) counted` +
      ` WHERE key IS NOT NULL AND counted.count > 0 LIMIT ${MAX_COUNTED_GROUPS + 1}`,
    params,
  };
}

/**
 * What an event must be to match: the user, any of the event types, every data filter, the time
 * range. Each data filter is two or three conditions. The first, `data_index @> …` (containment,
 * in jsonb), is what the GIN index serves; a declared field's adds `data_index -> … = ANY(…)`,
 * what its expression index serves. Both hold for every event that matches, but also for some
 * that do not (`1.5` contains and equals `1.50`, numerically). The last decides, on `data` as the
 * client wrote it (`json` keeps the spelling that `jsonb` normalises away).
 *
 * Across users, the time range is also a seq range, each bound found by a binary search in the
 * same statement (so in its snapshot, where no later event is yet to come).
 */
function matchConditions(query: EventQuery, fields: readonly IndexedField[], bind: (value: unknown, type: string) => string): string[] {
  const conditions: string[] = [];
  if (query.userId !== undefined) conditions.push(`user_id = ${bind(query.userId, 'text')}`);

  if (query.eventTypes.length === 1) conditions.push(`event_type = ${bind(query.eventTypes[0], 'text')}`);
  else if (query.eventTypes.length > 1) conditions.push(`event_type = ANY(${bind(query.eventTypes, 'text[]')})`);

  for (const filter of query.dataFilters) {
    const leaves = filter.values.flatMap(jsonLeaves);
    const containments = leaves.map((leaf) => `data_index @> ${bind(containing(filter.path, leaf), 'jsonb')}`);
    conditions.push(containments.length === 1 ? containments[0]! : `(${containments.join(' OR ')})`);
    if (declaredField(fields, filter.path) !== undefined) {
      conditions.push(`${postgresFieldExpression(filter.path)} = ANY(${bind(leaves, 'jsonb[]')})`);
    }
    const path = bind(filter.path, 'text[]');
    conditions.push(
      `(CASE WHEN json_typeof(data #> ${path}) IN ('string', 'number', 'boolean') THEN data #>> ${path} END)` +
        ` = ANY(${bind(filter.values, 'text[]')})`,
    );
  }

  if (query.since !== undefined) {
    const since = bind(query.since, 'bigint');
    conditions.push(`ts >= ${since}`);
    if (query.userId === undefined) conditions.push(`seq >= (${seqBoundSql(since, 'since')})`);
  }
  if (query.until !== undefined) {
    const until = bind(query.until, 'bigint');
    conditions.push(`ts < ${until}`);
    if (query.userId === undefined) conditions.push(`seq < (${seqBoundSql(until, 'until')})`);
  }
  return conditions;
}

/**
 * The expression a declared field's index is built on, and a query on that field names:
 * PostgreSQL matches an index expression only against the same expression, with the same
 * constant keys. Each key is a SQL string literal (quotes doubled, and E'' when a backslash needs
 * it), so no field name can change the statement's shape.
 */
export function postgresFieldExpression(path: readonly string[]): string {
  return `(data_index${path.map((segment) => ` -> ${sqlTextLiteral(segment)}`).join('')})`;
}

function sqlTextLiteral(text: string): string {
  const quoted = text.replace(/'/g, "''");
  return text.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
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
