import type { EventQuery } from '../../events/event.js';
import { toSqliteJsonPath } from './json-path.js';

export type EventQuerySql = {
  /** Selects one chunk after the keyset position `@afterTs, @afterSeq`, `@limit` rows at most. */
  sql: string;
  params: Record<string, string | number>;
};

/**
 * Translates a query into one parameterised SELECT. Only the shape of the query (how many event
 * types, filters and values) reaches the SQL text; every name and value is a bound parameter.
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
    const path = bind(params, `path${f}`, toSqliteJsonPath(filter.path));
    const values = filter.values.map((value, v) => bind(params, `value${f}_${v}`, value));
    conditions.push(
      `(CASE json_type(data, ${path})` +
        ` WHEN 'text' THEN data ->> ${path}` +
        ` WHEN 'integer' THEN data -> ${path} WHEN 'real' THEN data -> ${path}` +
        ` WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END) IN (${values.join(', ')})`,
    );
  });

  // Row-value keyset: the (user_id, ts) index, whose entries end in the rowid, serves both the
  // range and the order, so each chunk costs its own rows however deep into the user it starts.
  conditions.push('(ts, seq) > (@afterTs, @afterSeq)');
  const sql =
    'SELECT seq, id, ts, user_id, event_type, data FROM events' +
    ` WHERE ${conditions.join(' AND ')} ORDER BY ts, seq LIMIT @limit`;
  return { sql, params };
}

function bind(params: Record<string, string | number>, name: string, value: string): string {
  params[name] = value;
  return `@${name}`;
}
