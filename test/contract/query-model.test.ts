/**
 * Every query shape, on both backends, against a model: the events it answers, walked a page at a
 * time to the end, are exactly those a brute-force filter of everything stored gives, in order,
 * none missing or twice, while events are written between the pages; and a summary's counts are
 * the model's. The planner's sizes are tiny here, so that a few hundred events take every path
 * (each index, the log in windows, a time range as a seq range).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { DataFilter, EventQuery, NewEvent, StoredEvent, SummaryGrouping } from '../../src/events/event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { parseIndexedFields } from '../../src/store/indexed-fields.js';
import { createTestDatabase, TEST_BACKEND, TEST_CHAIN_SECRET, type TestDatabase } from '../helpers/test-database.js';

const START = Date.parse('2031-03-01T00:00:00Z');
const USERS = ['u0', 'u1', 'u2', 'u3'];
const TYPES = ['a', 'b', 'c'];
/** `k` and `n.deep` are declared (indexed); `free` is not. */
const INDEXED = parseIndexedFields('k,n.deep').fields;
const K_VALUES = ['x', 'y', '1', 1, 2, true, false, 1.5, null, { o: 1 }];
const DEEP_VALUES = ['p', 'q', 2];
const FREE_VALUES = ['z', 'w', 7];

/** What a filter value is compared with: a string's text, a number's or a boolean's JSON spelling (these spell the same in JavaScript). */
function spelling(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  return undefined;
}

function fieldAt(data: unknown, path: readonly string[]): unknown {
  let value = data;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function matches(event: StoredEvent, query: EventQuery): boolean {
  if (query.userId !== undefined && event.userId !== query.userId) return false;
  if (query.eventTypes.length > 0 && !query.eventTypes.includes(event.eventType)) return false;
  if (query.since !== undefined && event.timestampMs < query.since) return false;
  if (query.until !== undefined && event.timestampMs >= query.until) return false;
  const data = JSON.parse(event.dataJson) as unknown;
  return query.dataFilters.every((filter) => {
    const text = spelling(fieldAt(data, filter.path));
    return text !== undefined && filter.values.includes(text);
  });
}

/** The model's answer: every stored event that matches, in (timestamp, seq) order as asked. */
function expected(stored: readonly StoredEvent[], query: EventQuery): string[] {
  const found = stored.filter((event) => matches(event, query)).sort((a, b) => a.timestampMs - b.timestampMs || a.seq - b.seq);
  if (query.order === 'desc') found.reverse();
  return found.map((event) => event.id);
}

function filterOn(path: string[], values: string[]): fc.Arbitrary<DataFilter> {
  return fc.record({ path: fc.constant(path), values: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 }) });
}

const queryArbitrary = fc.record({
  userId: fc.option(fc.constantFrom(...USERS), { nil: undefined }),
  eventTypes: fc.subarray(TYPES, { maxLength: 2 }),
  dataFilters: fc.uniqueArray(fc.oneof(
    filterOn(['k'], ['x', 'y', '1', '2', 'true', 'false', '1.5']),
    filterOn(['n', 'deep'], ['p', 'q', '2']),
    filterOn(['free'], ['z', 'w', '7']),
  ), { maxLength: 2, selector: (filter) => filter.path.join('.') }),
  since: fc.option(fc.integer({ min: START - 5, max: START + 700 }), { nil: undefined }),
  span: fc.option(fc.integer({ min: 0, max: 800 }), { nil: undefined }),
  order: fc.constantFrom('asc' as const, 'desc' as const),
  pageSize: fc.integer({ min: 1, max: 40 }),
  writeWhileWalking: fc.boolean(),
});

describe(`queries and summaries against a model of the log (${TEST_BACKEND})`, () => {
  let database: TestDatabase;
  let store: EventStore;
  let clock = START;
  const stored: StoredEvent[] = [];
  let n = 0;

  /** Random events, a few to each millisecond, the clock moving on. */
  async function write(count: number): Promise<void> {
    const random = fc.sample(fc.record({
      user: fc.constantFrom(...USERS),
      type: fc.constantFrom(...TYPES),
      k: fc.option(fc.constantFrom(...K_VALUES), { nil: undefined }),
      deep: fc.option(fc.constantFrom(...DEEP_VALUES), { nil: undefined }),
      free: fc.option(fc.constantFrom(...FREE_VALUES), { nil: undefined }),
      tick: fc.integer({ min: 0, max: 3 }),
    }), { numRuns: count, seed: 1000 + n });
    const events: NewEvent[] = random.map(({ user, type, k, deep, free, tick }) => {
      n++;
      const data: Record<string, unknown> = { n };
      if (k !== undefined) data.k = k;
      if (deep !== undefined) data.n = { deep };
      if (free !== undefined) data.free = free;
      clock += tick;
      return { userId: user, eventType: type, dataJson: JSON.stringify(data) };
    });
    // One event at a time, so that each carries the clock's time as it was written.
    for (const event of events) stored.push(await store.append(event));
  }

  before(async () => {
    database = await createTestDatabase();
    store = await database.openStore({
      chainSecret: TEST_CHAIN_SECRET,
      clock: () => clock,
      indexedFields: INDEXED,
      queryPlanning: { probeCap: 8, scanWindow: 16, userCountsFromEvents: 100 },
    });
    await write(400);
  });
  after(async () => {
    await store.close();
    await database.drop();
  });

  it('answers every query shape, page by page to the end, exactly as the model, while events are written', async () => {
    await fc.assert(
      fc.asyncProperty(queryArbitrary, async ({ userId, eventTypes, dataFilters, since, span, order, pageSize, writeWhileWalking }) => {
        const query: EventQuery = { eventTypes, dataFilters, order };
        if (userId !== undefined) query.userId = userId;
        if (since !== undefined) query.since = since;
        if (span !== undefined) query.until = (since ?? START) + span;
        const before = expected(stored, query);
        const seen: string[] = [];
        let page: StoredEvent[] = [];
        do {
          const last = page.at(-1);
          page = [];
          for await (const chunk of store.query({ ...query, limit: pageSize, ...(last === undefined ? {} : { after: { timestampMs: last.timestampMs, seq: last.seq } }) })) page.push(...chunk);
          seen.push(...page.map((event) => event.id));
          // Written after the first page, when another follows: the walk must find them at its end.
          if (writeWhileWalking && seen.length === pageSize && page.length === pageSize) await write(3);
        } while (page.length === pageSize);
        // Ascending, the walk reaches the events written during it; descending, it began past them.
        const model = order === 'asc' ? expected(stored, query) : before;
        assert.deepEqual(seen, model, JSON.stringify({ seen: seen.map((id) => stored.findIndex((e) => e.id === id)), model: model.map((id) => stored.findIndex((e) => e.id === id)) }));
      }),
      { numRuns: TEST_BACKEND === 'postgres' ? 60 : 150 },
    );
  });

  it('reads a whole answer without a limit in one go exactly as the model', async () => {
    await fc.assert(
      fc.asyncProperty(queryArbitrary, async ({ userId, eventTypes, dataFilters, since, span, order }) => {
        const query: EventQuery = { eventTypes, dataFilters, order };
        if (userId !== undefined) query.userId = userId;
        if (since !== undefined) query.since = since;
        if (span !== undefined) query.until = (since ?? START) + span;
        const seen: string[] = [];
        for await (const chunk of store.query(query)) seen.push(...chunk.map((event) => event.id));
        assert.deepEqual(seen, expected(stored, query));
      }),
      { numRuns: TEST_BACKEND === 'postgres' ? 40 : 100 },
    );
  });

  it('counts every query shape by type, user, hour and day exactly as the model', async () => {
    await fc.assert(
      fc.asyncProperty(queryArbitrary, fc.constantFrom<SummaryGrouping>('event_type', 'user_id', 'hour', 'day'), async ({ userId, eventTypes, dataFilters, since, span, order }, groupBy) => {
        const query: EventQuery = { eventTypes, dataFilters, order };
        if (userId !== undefined) query.userId = userId;
        if (since !== undefined) query.since = since;
        if (span !== undefined) query.until = (since ?? START) + span;
        const counts = new Map<string | number, number>();
        for (const event of stored.filter((e) => matches(e, query))) {
          const key = groupBy === 'event_type' ? event.eventType
            : groupBy === 'user_id' ? event.userId
            : event.timestampMs - (event.timestampMs % (groupBy === 'hour' ? 3_600_000 : 86_400_000));
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        const summary = await store.summarize(query, groupBy);
        const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
        assert.equal(summary.total, total);
        assert.equal(summary.truncated, false);
        assert.deepEqual(new Map(summary.groups.map((group) => [group.key, group.count])), counts);
        // The largest first (ties by key) by type or user; by time, in the query's order.
        const keys = summary.groups.map((group) => group.key);
        const sorted = [...summary.groups].sort((a, b) => (groupBy === 'hour' || groupBy === 'day')
          ? (order === 'desc' ? Number(b.key) - Number(a.key) : Number(a.key) - Number(b.key))
          : b.count - a.count || String(a.key).localeCompare(String(b.key), 'en'));
        assert.deepEqual(keys, sorted.map((group) => group.key));
      }),
      { numRuns: TEST_BACKEND === 'postgres' ? 40 : 100 },
    );
  });
});
