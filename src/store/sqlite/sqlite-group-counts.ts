import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { EventQuery } from '../../events/event.js';
import type { createGroupCounter } from '../summary-groups.js';
import { TYPE_INDEX } from './event-query-sql.js';

/** By type or user: the next group after one (`?`), and one group's events between two seqs (by type) or instants (by user). */
export const GROUP_COUNT_SQL = {
  event_type: {
    next: 'SELECT min(event_type) FROM events WHERE event_type > ?',
    count: `SELECT count(*) FROM events INDEXED BY ${TYPE_INDEX} WHERE event_type = ? AND seq >= ? AND seq < ?`,
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
 * range's seqs, or each user's (user_id, ts) entries in the range. The groups are the query's
 * event types, or found one seek at a time (the next value after the last, a loose index scan).
 * A summary of the last day by type thus counts index entries, ~20 ns each, where reading the
 * day's rows would cost ~300 ns each; other requests run every GROUPS_PER_TURN groups.
 */
export async function countGroupsInIndexes(
  db: Database.Database,
  query: EventQuery,
  groupBy: 'event_type' | 'user_id',
  seqRange: { fromSeq: number; toSeq: number },
  counter: ReturnType<typeof createGroupCounter>,
): Promise<void> {
  const byType = groupBy === 'event_type';
  const next = db.prepare(GROUP_COUNT_SQL[groupBy].next).pluck();
  const count = db.prepare(GROUP_COUNT_SQL[groupBy].count).pluck();
  const [from, to] = byType ? [seqRange.fromSeq, seqRange.toSeq] : [query.since ?? -1, query.until ?? Number.MAX_SAFE_INTEGER];
  const add = (key: string) => {
    const n = count.get(key, from, to) as number;
    if (n > 0) counter.add(key, n);
  };
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
