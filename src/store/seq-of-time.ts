/**
 * One SELECT, in SQL both databases run, that turns an instant (`time`, a parameter in ms) into a
 * bound on seq for the query's `side`: `since`, the seq from which every event at or after the
 * instant lies; `until`, the seq before which every event before it lies.
 *
 * This holds because seq follows time: the planner never stamps an event behind the one before it
 * (plan-commit.ts), so a time range is a seq range, and a query across users can walk the log in
 * its own order, or any index whose entries end in seq, where it would otherwise need an index on
 * time. It is found by binary search over seq, each step reading one row by primary key (the first
 * at or after the middle, as seq may have gaps), so about log2(n) reads in all; `search(lo, hi)`
 * keeps: every event below lo is earlier than `time`, none from hi on is.
 *
 * A log written by an early version, through a clock stepped back, may hold events out of time
 * order before the planner's rule: TIME_ORDER (a migration) finds the last such step once, and the
 * search runs over the ordered rest. `since` at or before the latest time among the events before
 * it reads from the start (those events may match, in any order); `until` needs nothing more, as
 * all of them lie below any bound in the ordered rest.
 */
export function seqBoundSql(time: string, side: 'since' | 'until'): string {
  if (side === 'until') return orderedSeqBoundSql(time);
  return `SELECT CASE WHEN ${time} <= (SELECT earlier_max_ts FROM time_order) THEN 0 ELSE (${orderedSeqBoundSql(time)}) END`;
}

/** The binary search of seqBoundSql over the part of the log in time order: the first seq there at or after `time`. */
export function orderedSeqBoundSql(time: string): string {
  const middle = '(search.lo + search.hi) / 2';
  const probe = (column: string) => `(SELECT ${column} FROM events WHERE seq >= ${middle} ORDER BY seq LIMIT 1)`;
  // The event at or after the middle is earlier than `time` (and below hi): all up to it are.
  const earlier = `${probe('seq')} < search.hi AND ${probe('ts')} < ${time}`;
  return (
    'WITH RECURSIVE search(lo, hi) AS (' +
    ' SELECT CAST(coalesce((SELECT ordered_from_seq FROM time_order), 1) AS BIGINT), (SELECT coalesce(max(seq), 0) + 1 FROM events)' +
    ` UNION ALL SELECT CASE WHEN ${earlier} THEN ${probe('seq')} + 1 ELSE search.lo END,` +
    ` CASE WHEN ${earlier} THEN search.hi ELSE ${middle} END` +
    ' FROM search WHERE search.lo < search.hi)' +
    ' SELECT lo FROM search WHERE lo >= hi'
  );
}

/** Fills `time_order` anew from the events (see TIME_ORDER). */
export const FILL_TIME_ORDER = `
  DELETE FROM time_order;
  INSERT INTO time_order (ordered_from_seq, earlier_max_ts)
    SELECT coalesce(last_step, 1), (SELECT max(ts) FROM events WHERE seq < coalesce(last_step, 1))
    FROM (SELECT max(seq) AS last_step FROM (SELECT seq, ts < lag(ts) OVER (ORDER BY seq) AS behind FROM events) steps WHERE behind) found;`;

/**
 * Creates and fills `time_order`, one row: the seq from which the log is in time order (the last
 * event stamped behind the one before it, or 1), and the latest time among the events before that
 * seq (NULL when none). One pass over the log, at the migration that brings queries across users
 * (and again after a copy into PostgreSQL); the planner keeps every later event in order.
 */
export const TIME_ORDER = `
  CREATE TABLE time_order (ordered_from_seq BIGINT NOT NULL, earlier_max_ts BIGINT);
  ${FILL_TIME_ORDER}
`;
