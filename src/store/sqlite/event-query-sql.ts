import type { EventQuery } from '../../events/event.js';
import { isStorableNumber } from '../number-filter.js';
import { keysetSql } from '../read-in-chunks.js';
import { toSqliteJsonPath } from './json-path.js';

export type EventQuerySql = {
  /** Selects one chunk after the keyset position `@afterTs, @afterSeq`, `@limit` rows at most. */
  sql: string;
  params: Record<string, string | number>;
};

/**
 * Translates a query into one parameterised SELECT. Only the shape of the query (how many event
 * types, filters and values, which bounds, which order) and the JSON paths of data filters reach
 * the SQL text; every value is a bound parameter.
 *
 * A data filter compares as text: a string field by its value, a number or boolean by its JSON
 * spelling (`100`, `1.50`, `true`). Objects, arrays, null and absent fields yield NULL, which
 * never equals anything.
 */
export function buildEventQuerySql(query: EventQuery): EventQuerySql {
  const params: Record<string, string | number> = { userId: query.userId };
  const conditions = ['user_id = @userId'];

  if (query.eventTypes.length > 0) {
    const names = query.eventTypes.map((eventType, i) => bind(params, `type${i}`, eventType));
    conditions.push(`event_type IN (${names.join(', ')})`);
  }

  query.dataFilters.forEach((filter, f) => {
    const jsonPath = toSqliteJsonPath(filter.path);
    const path = bind(params, `path${f}`, jsonPath);
    const values = filter.values.map((value, v) => bind(params, `value${f}_${v}`, value));
    // A necessary condition in the one form an operator's expression index can match:
    // SQLite matches an indexed expression only against the same constant path, never a bound
    // one. The literal is the JSON-quoted path, SQL-quoted; the values stay bound.
    const candidates = filter.values.flatMap((value, v) => extractCandidates(params, `candidate${f}_${v}`, value));
    const extracted = `json_extract(data, ${sqlStringLiteral(jsonPath)})`;
    conditions.push(candidates.length === 1 ? `${extracted} = ${candidates[0]}` : `${extracted} IN (${candidates.join(', ')})`);
    conditions.push(
      `(CASE json_type(data, ${path})` +
        ` WHEN 'text' THEN data ->> ${path}` +
        ` WHEN 'integer' THEN data -> ${path} WHEN 'real' THEN data -> ${path}` +
        ` WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END) IN (${values.join(', ')})`,
    );
  });

  if (query.since !== undefined) conditions.push(`ts >= ${bind(params, 'since', query.since)}`);
  if (query.until !== undefined) conditions.push(`ts < ${bind(params, 'until', query.until)}`);

  // The (user_id, ts) index's entries end in the rowid, which is seq: it serves the keyset.
  const { after, orderBy } = keysetSql(query.order, '@afterTs', '@afterSeq');
  conditions.push(after);
  const sql = `SELECT seq, id, ts, user_id, event_type, data FROM events WHERE ${conditions.join(' AND ')} ORDER BY ${orderBy} LIMIT @limit`;

  return { sql, params };
}

/**
 * What json_extract yields for a field that matches `value`, as SQL expressions: the text itself;
 * for a number's spelling, the value SQLite's own JSON parser gives it (`json_extract(@n, '$')`),
 * so that an integer up to 2^63 stays exact and any other number rounds exactly as the stored one
 * did (through a JavaScript number, 1798234759182737409 became …408 and matched nothing); and 1
 * or 0 for true or false.
 */
function extractCandidates(params: Record<string, string | number>, name: string, value: string): string[] {
  const candidates = [bind(params, name, value)];
  if (isStorableNumber(value)) {
    candidates.push(`json_extract(${bind(params, `${name}_number`, value)}, '$')`);
  }
  if (value === 'true') candidates.push(bind(params, `${name}_true`, 1));
  if (value === 'false') candidates.push(bind(params, `${name}_false`, 0));
  return candidates;
}

function sqlStringLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function bind(params: Record<string, string | number>, name: string, value: string | number): string {
  params[name] = value;
  return `@${name}`;
}
