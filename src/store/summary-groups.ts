import type { EventQuery, Summary, SummaryGrouping } from '../events/event.js';

/** Most groups a summary answers: the largest (by type or user), or the first in time (by hour or day). */
export const MAX_SUMMARY_GROUPS = 1000;
/** Most groups a summary counts before it is refused: more would hold too much memory to rank them. */
export const MAX_COUNTED_GROUPS = 100_000;

/** A summary with more groups than MAX_COUNTED_GROUPS: the asker narrows it (a time range, a filter). */
export class TooManyGroupsError extends Error {
  override name = 'TooManyGroupsError';

  constructor(groupBy: SummaryGrouping) {
    super(`The matching events fall in more than ${MAX_COUNTED_GROUPS} groups by ${groupBy}: narrow the query (since, until, event_type, a data filter) or group by something else`);
  }
}

/**
 * Counts merged from any number of reads, each a list of (key, count), then ranked: by type or
 * user, the largest groups first (ties by key); by hour or day, in time order as the query's
 * `order` says. At most MAX_SUMMARY_GROUPS are kept; `total` counts every matching event.
 */
export function createGroupCounter(groupBy: SummaryGrouping, order: EventQuery['order']) {
  const counts = new Map<string | number, number>();
  return {
    add(key: string | number, count: number): void {
      counts.set(key, (counts.get(key) ?? 0) + count);
      if (counts.size > MAX_COUNTED_GROUPS) throw new TooManyGroupsError(groupBy);
    },
    summary(): Summary {
      const byTime = groupBy === 'hour' || groupBy === 'day';
      const groups = [...counts].map(([key, count]) => ({ key, count }));
      if (byTime) groups.sort((a, b) => (order === 'desc' ? Number(b.key) - Number(a.key) : Number(a.key) - Number(b.key)));
      else groups.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      let total = 0;
      for (const group of groups) total += group.count;
      return { groups: groups.slice(0, MAX_SUMMARY_GROUPS), total, truncated: groups.length > MAX_SUMMARY_GROUPS };
    },
  };
}

/**
 * Whether a summary is one of a dashboard's commonest, counted by type or by user with nothing but
 * a time range (and, by type, the types) to filter: then each group is counted in its index,
 * never reading a row (sqlite-group-counts.ts, buildPostgresSummarySql).
 */
export function countableInIndexes(query: EventQuery, groupBy: SummaryGrouping): groupBy is 'event_type' | 'user_id' {
  if (query.userId !== undefined || query.dataFilters.length > 0) return false;
  return groupBy === 'event_type' || (groupBy === 'user_id' && query.eventTypes.length === 0);
}
