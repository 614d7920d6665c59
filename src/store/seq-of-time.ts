/**
 * One SELECT, in SQL both databases run, that finds the first seq whose event is at or after the
 * instant `time` (a parameter, in ms), by binary search over seq: every event before it is
 * earlier, every event from it on is not. It answers the newest seq + 1 when no event is that late.
 *
 * This holds because seq follows time: the planner never stamps an event behind the one before it
 * (plan-commit.ts), so a time range is a seq range, and a query across users can walk the log in
 * its own order, or any index whose entries end in seq, where it would otherwise need an index on
 * time. Each step reads one row by primary key (the first at or after the middle, as seq may have
 * gaps after a failed commit on PostgreSQL), so about log2(n) reads in all.
 *
 * `search(lo, hi)` keeps: every event below lo is earlier than `time`; none from hi on is.
 */
export function firstSeqAtOrAfterSql(time: string): string {
  const middle = '(search.lo + search.hi) / 2';
  const probe = (column: string) => `(SELECT ${column} FROM events WHERE seq >= ${middle} ORDER BY seq LIMIT 1)`;
  // The event at or after the middle is earlier than `time` (and below hi): all up to it are.
  const earlier = `${probe('seq')} < search.hi AND ${probe('ts')} < ${time}`;
  return (
    'WITH RECURSIVE search(lo, hi) AS (' +
    ' SELECT CAST(1 AS BIGINT), (SELECT coalesce(max(seq), 0) + 1 FROM events)' +
    ` UNION ALL SELECT CASE WHEN ${earlier} THEN ${probe('seq')} + 1 ELSE search.lo END,` +
    ` CASE WHEN ${earlier} THEN search.hi ELSE ${middle} END` +
    ' FROM search WHERE search.lo < search.hi)' +
    ' SELECT lo FROM search WHERE lo >= hi'
  );
}
