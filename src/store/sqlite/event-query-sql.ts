import type { EventQuery, SummaryGrouping } from '../../events/event.js';
import { fieldIndexName } from '../indexed-fields.js';
import { isStorableNumber } from '../number-filter.js';
import { EVENT_COLUMNS, keysetSql } from '../read-in-chunks.js';
import { sqliteFieldExpression, toSqliteJsonPath } from './json-path.js';

type Params = Record<string, string | number>;

/**
 * How a query reaches its events (chosen by planSqliteQuery): through one user's (user_id, ts)
 * index in time order, as the seed's queries always have; or, in seq order (which is time order,
 * see seq-of-time.ts), through an index whose entries end in seq (events_by_type, a declared
 * field's) or through the table itself, each between seq bounds.
 */
export type SqliteAccessPath = { kind: 'user' } | { kind: 'index'; index: string } | { kind: 'log' };

export type EventQuerySql = {
  /**
   * Selects one chunk after the keyset position `@afterTs, @afterSeq` (from the start, along a
   * user's index, when built `fromStart`), `@limit` rows at most; a path in seq order also between
   * `@fromSeq` (inclusive) and `@toSeq` (exclusive).
   */
  sql: string;
  params: Params;
};

/**
 * Translates a query into one parameterised SELECT along `path`. Only the shape of the query (how
 * many event types, filters and values, which bounds, which order) and the JSON paths of data
 * filters reach the SQL text; every value is a bound parameter.
 *
 * A data filter compares as text: a string field by its value, a number or boolean by its JSON
 * spelling (`100`, `1.50`, `true`). Objects, arrays, null and absent fields yield NULL, which
 * never equals anything.
 */
export function buildEventQuerySql(query: EventQuery, path: SqliteAccessPath, fromStart = false): EventQuerySql {
  const params: Params = {};
  const conditions = matchConditions(query, params);
  if (path.kind === 'user') {
    // The (user_id, ts) index's entries end in the rowid, which is seq: it serves the keyset. The
    // first chunk of an answer from its start (`fromStart`) has none: it would hold for every row.
    const { after, orderBy } = keysetSql(query.order, '@afterTs', '@afterSeq');
    if (!fromStart) conditions.push(after);
    return { sql: `SELECT ${EVENT_COLUMNS} FROM events ${indexClause(path)} WHERE ${conditions.join(' AND ')} ORDER BY ${orderBy} LIMIT @limit`, params };
  }
  // After the keyset position in seq alone, as seq follows time; its time bound holds for every row
  // after it too (and keeps a made-up cursor's answer the same as on PostgreSQL).
  conditions.push('seq >= @fromSeq', 'seq < @toSeq', query.order === 'desc' ? 'seq < @afterSeq AND ts <= @afterTs' : 'seq > @afterSeq AND ts >= @afterTs');
  const direction = query.order === 'desc' ? 'DESC' : 'ASC';
  return { sql: `SELECT ${EVENT_COLUMNS} FROM events ${indexClause(path)} WHERE ${conditions.join(' AND ')} ORDER BY seq ${direction} LIMIT @limit`, params };
}

/** How many of the query's events lie along `path` (between `@fromSeq` and `@toSeq` in seq order), counting up to `@cap` only. */
export function buildProbeSql(query: EventQuery, path: SqliteAccessPath): EventQuerySql {
  const params: Params = {};
  const conditions = path.kind === 'user' ? ['user_id = @userId'] : ['seq >= @fromSeq', 'seq < @toSeq'];
  if (path.kind === 'user') {
    params.userId = query.userId!;
    if (query.since !== undefined) conditions.push(`ts >= ${bind(params, 'since', query.since)}`);
    if (query.until !== undefined) conditions.push(`ts < ${bind(params, 'until', query.until)}`);
  } else if (path.kind === 'index') {
    conditions.push(drivingCondition(query, path.index, params));
  }
  return { sql: `SELECT count(*) FROM (SELECT 1 FROM events ${indexClause(path)} WHERE ${conditions.join(' AND ')} LIMIT @cap)`, params };
}

/** The SQL expression of a summary's group key: an hour's or a day's first instant, in ms (UTC). */
const GROUP_KEYS: Record<SummaryGrouping, string> = {
  event_type: 'event_type',
  user_id: 'user_id',
  hour: 'ts - ts % 3600000',
  day: 'ts - ts % 86400000',
};

/** Counts the query's events by `groupBy` along `path`, between `@fromSeq` and `@toSeq` (a path in seq order). */
export function buildSummarySql(query: EventQuery, groupBy: SummaryGrouping, path: SqliteAccessPath): EventQuerySql {
  const params: Params = {};
  const conditions = matchConditions(query, params);
  if (path.kind !== 'user') conditions.push('seq >= @fromSeq', 'seq < @toSeq');
  return { sql: `SELECT ${GROUP_KEYS[groupBy]} AS key, count(*) AS count FROM events ${indexClause(path)} WHERE ${conditions.join(' AND ')} GROUP BY 1`, params };
}

/** The index of the events of each type, in seq order (open-database.ts). */
export const TYPE_INDEX = 'events_by_type';

function indexClause(path: SqliteAccessPath): string {
  if (path.kind === 'user') return 'INDEXED BY events_by_user_time';
  if (path.kind === 'index') return `INDEXED BY ${path.index}`;
  return 'NOT INDEXED';
}

/**
 * What an event must be to match: the user, any of the event types, every data filter (each with
 * its necessary condition in the form a declared field's index serves), the time bounds.
 */
function matchConditions(query: EventQuery, params: Params): string[] {
  const conditions: string[] = [];
  if (query.userId !== undefined) conditions.push(`user_id = ${bind(params, 'userId', query.userId)}`);
  if (query.eventTypes.length > 0) conditions.push(typeCondition(query, params));

  query.dataFilters.forEach((filter, f) => {
    conditions.push(fieldCondition(query, f, params));
    const path = bind(params, `path${f}`, toSqliteJsonPath(filter.path));
    const values = filter.values.map((value, v) => bind(params, `value${f}_${v}`, value));
    conditions.push(
      `(CASE json_type(data, ${path})` +
        ` WHEN 'text' THEN data ->> ${path}` +
        ` WHEN 'integer' THEN data -> ${path} WHEN 'real' THEN data -> ${path}` +
        ` WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END) IN (${values.join(', ')})`,
    );
  });

  if (query.since !== undefined) conditions.push(`ts >= ${bind(params, 'since', query.since)}`);
  if (query.until !== undefined) conditions.push(`ts < ${bind(params, 'until', query.until)}`);
  return conditions;
}

function typeCondition(query: EventQuery, params: Params): string {
  const names = query.eventTypes.map((eventType, i) => bind(params, `type${i}`, eventType));
  return `event_type IN (${names.join(', ')})`;
}

/**
 * A data filter's necessary condition, `json_extract(data, <constant path>) IN (…)`: what a
 * declared field's index serves (see sqliteFieldExpression). The values stay bound.
 */
function fieldCondition(query: EventQuery, f: number, params: Params): string {
  const filter = query.dataFilters[f]!;
  const candidates = filter.values.flatMap((value, v) => extractCandidates(params, `candidate${f}_${v}`, value));
  const extracted = sqliteFieldExpression(filter.path);
  return candidates.length === 1 ? `${extracted} = ${candidates[0]}` : `${extracted} IN (${candidates.join(', ')})`;
}

/** The condition `index` serves: the event types, or the data filter on its field. */
function drivingCondition(query: EventQuery, index: string, params: Params): string {
  if (index === TYPE_INDEX) return typeCondition(query, params);
  const f = query.dataFilters.findIndex((filter) => fieldIndexName(filter.path) === index);
  return fieldCondition(query, f, params);
}

/**
 * What json_extract yields for a field that matches `value`, as SQL expressions: the text itself;
 * for a number's spelling, the value SQLite's own JSON parser gives it (`json_extract(@n, '$')`),
 * so that an integer up to 2^63 stays exact and any other number rounds exactly as the stored one
 * did (through a JavaScript number, 1798234759182737409 became …408 and matched nothing); and 1
 * or 0 for true or false.
 */
function extractCandidates(params: Params, name: string, value: string): string[] {
  const candidates = [bind(params, name, value)];
  if (isStorableNumber(value)) {
    candidates.push(`json_extract(${bind(params, `${name}_number`, value)}, '$')`);
  }
  if (value === 'true') candidates.push(bind(params, `${name}_true`, 1));
  if (value === 'false') candidates.push(bind(params, `${name}_false`, 0));
  return candidates;
}

function bind(params: Params, name: string, value: string | number): string {
  params[name] = value;
  return `@${name}`;
}
