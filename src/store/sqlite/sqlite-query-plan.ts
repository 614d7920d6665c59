import type Database from 'better-sqlite3';
import type { EventQuery } from '../../events/event.js';
import { declaredField, type IndexedField } from '../indexed-fields.js';
import { isStorableNumber } from '../number-filter.js';
import { seqBoundSql } from '../seq-of-time.js';
import { buildProbeSql, TYPE_INDEX, type SqliteAccessPath } from './event-query-sql.js';

/**
 * Entries a probe counts up to. A path with fewer is narrow: reading all of them costs less than a
 * millisecond. Past it, every path is dense, and the planner prefers one already in order.
 */
export const PROBE_CAP = 1000;
/** Seqs one statement of a dense path in seq order covers, so that a scan lets other requests run between its windows. */
export const SCAN_WINDOW = 10_000;
/**
 * Events in a summary's range past which counting by user goes through the users' index, a seek
 * per user of the log (about 15 µs each here), rather than through the range's rows (about 2 µs
 * each): 1,000,000 events of 10,000 users took 0.19 s one way and 1 s the other; a day of them,
 * 33,000 events, 0.16 s and 0.08 s.
 */
export const USER_COUNTS_FROM_EVENTS = 100_000;
/** The planner's sizes: tests make them small. */
export type QueryPlanning = { probeCap: number; scanWindow: number; userCountsFromEvents: number };
export const QUERY_PLANNING: QueryPlanning = { probeCap: PROBE_CAP, scanWindow: SCAN_WINDOW, userCountsFromEvents: USER_COUNTS_FROM_EVENTS };
/** No seq bound: past every event there will ever be. */
export const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * The way a query is read: its access path, its seq bounds (from inclusive, to exclusive; a path
 * in seq order only), and whether each statement covers one SCAN_WINDOW of seqs at most.
 */
export type SqlitePlan = { path: SqliteAccessPath; fromSeq: number; toSeq: number; windowed: boolean };

/** What the planner reads from the database: counts, the seq bound of an instant, the newest seq. */
export type PlanReads = {
  count(sql: string, params: Record<string, string | number>): number;
  /** The seq bound of an instant (see seqBoundSql). */
  seqBound(time: number, side: 'since' | 'until'): number;
  newestSeq(): number;
};

/** The planner's reads on `db`, through `prepare` (a statement cache; probes differ only by shape). */
export function createPlanReads(db: Database.Database, prepare = (sql: string) => db.prepare(sql)): PlanReads {
  const selectNewestSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM events').pluck();
  const selectBound = { since: db.prepare(seqBoundSql('@time', 'since')).pluck(), until: db.prepare(seqBoundSql('@time', 'until')).pluck() };
  return {
    count: (sql, params) => prepare(sql).pluck().get(params) as number,
    seqBound: (time, side) => selectBound[side].get({ time }) as number,
    newestSeq: () => selectNewestSeq.get() as number,
  };
}

/**
 * Chooses how to read a query. SQLite's own planner cannot: without statistics it takes any
 * equality for equally narrow, and with them (ANALYZE, which holds the write lock for as long as
 * it reads the whole table) it still knows only averages, so a hot user's sparse filter would be
 * read through the user's 200,000 events. Instead, each index that could narrow the query is
 * probed, counting its entries up to PROBE_CAP, and the narrowest wins, by name (INDEXED BY):
 *
 * - one user's query with nothing else to narrow it takes its user's index, unprobed, as always;
 * - otherwise the log itself between the time range's seq bounds (counted exactly), the user's
 *   index, a declared field's, and events_by_type are counted, and the fewest entries win;
 * - when every path is dense, one already in order is read: the user's index, or an index with a
 *   single value to match (in seq order), or else the log; a path in seq order is then read a
 *   SCAN_WINDOW at a time.
 */
export function planSqliteQuery(query: EventQuery, fields: readonly IndexedField[], reads: PlanReads, { probeCap } = QUERY_PLANNING): SqlitePlan {
  const candidates: Array<{ path: SqliteAccessPath; ordered: boolean }> = [];
  for (const filter of query.dataFilters) {
    const field = declaredField(fields, filter.path);
    const values = filter.values.flatMap((value) => (isStorableNumber(value) || value === 'true' || value === 'false' ? [value, value] : [value]));
    if (field !== undefined) candidates.push({ path: { kind: 'index', index: field.index }, ordered: values.length === 1 });
  }
  if (query.eventTypes.length > 0) candidates.push({ path: { kind: 'index', index: TYPE_INDEX }, ordered: query.eventTypes.length === 1 });
  if (query.userId !== undefined) {
    if (candidates.length === 0) return { path: { kind: 'user' }, fromSeq: 0, toSeq: UNBOUNDED, windowed: false };
    candidates.unshift({ path: { kind: 'user' }, ordered: true });
  }

  const newest = reads.newestSeq();
  // Read forward from a cursor, every event still to come is at or after its time: the log is
  // read from that time's seq bound (a live stream or a sink reads just behind the head).
  const from = query.order === 'asc' && query.after !== undefined ? Math.max(query.since ?? 0, query.after.timestampMs) : query.since;
  const fromSeq = from === undefined ? 0 : reads.seqBound(from, 'since');
  // An instant no event has reached yet bounds nothing: later events may still be earlier than it.
  const untilSeq = query.until === undefined ? UNBOUNDED : reads.seqBound(query.until, 'until');
  const toSeq = untilSeq > newest ? UNBOUNDED : untilSeq;

  // A cursor narrows what is left to read, so a deep page is planned for what follows it.
  let [lo, hi] = [fromSeq, Math.min(toSeq, newest + 1)];
  if (query.after !== undefined) {
    if (query.order === 'desc') hi = Math.min(hi, query.after.seq);
    else lo = Math.max(lo, query.after.seq + 1);
  }
  let best: { path: SqliteAccessPath; count: number } = { path: { kind: 'log' }, count: Math.max(0, hi - lo) };
  for (const { path } of candidates) {
    if (best.count < probeCap / 10) break; // narrow enough: a probe would cost more than it saves
    const { sql, params } = buildProbeSql(query, path);
    const count = reads.count(sql, { ...params, fromSeq: lo, toSeq: hi, cap: probeCap });
    if (count < best.count) best = { path, count };
  }
  if (best.count < probeCap) return { path: best.path, fromSeq, toSeq, windowed: false };

  const ordered = candidates.find((candidate) => candidate.ordered);
  const path = ordered?.path ?? { kind: 'log' };
  return { path, fromSeq, toSeq, windowed: path.kind !== 'user' };
}
