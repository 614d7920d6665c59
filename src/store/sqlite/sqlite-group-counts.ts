import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { EventQuery } from '../../events/event.js';
import type { createGroupCounter } from '../summary-groups.js';
import { orderedSeqBoundSql } from '../seq-of-time.js';
import { TYPE_INDEX } from './event-query-sql.js';

/** By type or user: the next group after one (`?`), and one group's events between two seqs (by type) or instants (by user). */
export const GROUP_COUNT_SQL = {
  event_type: {
    next: 'SELECT min(event_type) FROM events WHERE event_type > ?',
    count: `SELECT count(*) FROM events INDEXED BY ${TYPE_INDEX} WHERE event_type = ? AND seq >= ? AND seq < ?`,
    /** Before the log is in time order (seq-of-time.ts), the rows are read for their times. */
    countEarlier: `SELECT count(*) FROM events INDEXED BY ${TYPE_INDEX} WHERE event_type = ? AND seq >= ? AND seq < ? AND ts >= ? AND ts < ?`,
  },
  user_id: {
    next: 'SELECT min(user_id) FROM events WHERE user_id > ?',
    count: 'SELECT count(*) FROM events INDEXED BY events_by_user_time WHERE user_id = ? AND ts >= ? AND ts < ?',
  },
} as const;

/** Groups counted between two turns of the event loop. */
const GROUPS_PER_TURN = 256;

/**
 * Counts each group in its own index without reading a row: events_by_type between the time
 * range's seqs (and, before the log is in time order, the rows themselves), or each user's
 * (user_id, ts) entries in the range. The groups are the query's
 * event types, or found one seek at a time (the next value after the last, a loose index scan).
 * A summary of the last day by type thus counts index entries, ~20 ns each, where reading the
 * day's rows would cost ~300 ns each; other requests run every GROUPS_PER_TURN groups.
 */
export async function countGroupsInIndexes(
  db: Database.Database,
  query: EventQuery,
  groupBy: 'event_type' | 'user_id',
  counter: ReturnType<typeof createGroupCounter>,
): Promise<void> {
  const byType = groupBy === 'event_type';
  const next = db.prepare(GROUP_COUNT_SQL[groupBy].next).pluck();
  const since = query.since ?? -1;
  const until = query.until ?? Number.MAX_SAFE_INTEGER;
  let add: (key: string) => void;
  if (byType) {
    // Where the log is in time order, a seq range is exact and the index alone counts; before it
    // (seq-of-time.ts), only the rows' times tell, and are read when the range reaches back there.
    const { ordered, earlierMax } = (db.prepare('SELECT ordered_from_seq AS ordered, earlier_max_ts AS earlierMax FROM time_order').get() as
      { ordered: number; earlierMax: number | null } | undefined) ?? { ordered: 1, earlierMax: null };
    const bound = db.prepare(orderedSeqBoundSql('@time')).pluck();
    const fromSeq = Math.max(ordered, query.since === undefined ? 0 : bound.get({ time: query.since }) as number);
    const toSeq = query.until === undefined ? Number.MAX_SAFE_INTEGER : bound.get({ time: query.until }) as number;
    const readEarlier = earlierMax !== null && since <= earlierMax;
    const count = db.prepare(GROUP_COUNT_SQL.event_type.count).pluck();
    const countEarlier = db.prepare(GROUP_COUNT_SQL.event_type.countEarlier).pluck();
    add = (key) => {
      let n = count.get(key, fromSeq, toSeq) as number;
      if (readEarlier) n += countEarlier.get(key, 0, ordered, since, until) as number;
      if (n > 0) counter.add(key, n);
    };
  } else {
    const count = db.prepare(GROUP_COUNT_SQL.user_id.count).pluck();
    add = (key) => {
      const n = count.get(key, since, until) as number;
      if (n > 0) counter.add(key, n);
    };
  }
  if (byType && query.eventTypes.length > 0) {
    for (const eventType of new Set(query.eventTypes)) add(eventType);
    return;
  }
  let groups = 0;
  for (let key = next.get('') as string | null; key !== null; key = next.get(key) as string | null) {
    add(key);
    if (++groups % GROUPS_PER_TURN === 0) await nextTurn();
  }
}
