import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGroupCounter, MAX_COUNTED_GROUPS, MAX_SUMMARY_GROUPS, TooManyGroupsError } from '../../src/store/summary-groups.js';

describe('createGroupCounter', () => {
  it('merges counts of the same key from several reads, and ranks the largest first, ties by key', () => {
    const counter = createGroupCounter('event_type', 'asc');
    for (const [key, count] of [['b', 2], ['a', 1], ['c', 3], ['a', 1], ['d', 1]] as const) counter.add(key, count);
    assert.deepEqual(counter.summary(), {
      groups: [{ key: 'c', count: 3 }, { key: 'a', count: 2 }, { key: 'b', count: 2 }, { key: 'd', count: 1 }],
      total: 8,
      truncated: false,
    });
  });

  it('ranks hours and days in time order, either way', () => {
    for (const order of ['asc', 'desc'] as const) {
      const counter = createGroupCounter('hour', order);
      for (const key of [7_200_000, 0, 3_600_000]) counter.add(key, key / 3_600_000 + 1);
      const keys = counter.summary().groups.map((group) => group.key);
      assert.deepEqual(keys, order === 'asc' ? [0, 3_600_000, 7_200_000] : [7_200_000, 3_600_000, 0]);
    }
  });

  it(`keeps the ${MAX_SUMMARY_GROUPS} first groups, counting the rest in the total and saying so`, () => {
    const counter = createGroupCounter('user_id', 'asc');
    for (let i = 0; i < MAX_SUMMARY_GROUPS + 5; i++) counter.add(`u${String(i).padStart(5, '0')}`, i === 1003 ? 10 : 1);
    const summary = counter.summary();
    assert.equal(summary.groups.length, MAX_SUMMARY_GROUPS);
    assert.deepEqual(summary.groups[0], { key: 'u01003', count: 10 });
    assert.equal(summary.total, MAX_SUMMARY_GROUPS + 5 + 9);
    assert.equal(summary.truncated, true);
  });

  it(`refuses past ${MAX_COUNTED_GROUPS} groups, naming the grouping and what to do`, () => {
    const counter = createGroupCounter('user_id', 'asc');
    for (let i = 0; i < MAX_COUNTED_GROUPS; i++) counter.add(i, 1);
    assert.throws(() => counter.add(-1, 1), (error: unknown) =>
      error instanceof TooManyGroupsError && /^The matching events fall in more than 100000 groups by user_id: narrow the query/.test(error.message));
  });
});
