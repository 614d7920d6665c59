import type { SummaryGrouping } from '../events/event.js';
import { parseSummaryQuery } from '../events/parse-event-query.js';
import { HttpError } from '../http/http-error.js';
import type { RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';
import { TooManyGroupsError } from '../store/summary-groups.js';

/**
 * GET /events/summary: how many events match GET /events' filters, by event type, user, or UTC
 * hour or day, for dashboards and the viewer: `{"group_by", "groups": [{"key", "count"}], "total",
 * "truncated"}`. Hours and days are named by their first instant, as the API writes timestamps.
 */
export function createGetEventSummaryRoute(store: EventStore): RouteHandler {
  return async (_request, { params }) => {
    const { query, groupBy } = parseSummaryQuery(params);
    try {
      const { groups, total, truncated } = await store.summarize(query, groupBy);
      return {
        status: 200,
        body: { group_by: groupBy, groups: groups.map(({ key, count }) => ({ key: groupKey(groupBy, key), count })), total, truncated },
      };
    } catch (error) {
      if (error instanceof TooManyGroupsError) throw new HttpError(422, error.message);
      throw error;
    }
  };
}

function groupKey(groupBy: SummaryGrouping, key: string | number): string {
  return groupBy === 'hour' || groupBy === 'day' ? new Date(Number(key)).toISOString() : String(key);
}
