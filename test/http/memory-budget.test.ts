import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryBudget } from '../../src/http/memory-budget.js';

describe('createMemoryBudget', () => {
  it('grants what fits at once, queues the rest first come first served, and wakes them as room is given back', async () => {
    const budget = createMemoryBudget(10);
    assert.equal(await budget.reserve(6), true);
    const order: string[] = [];
    const second = budget.reserve(6).then((granted) => order.push(`second ${granted}`));
    const third = budget.reserve(1).then((granted) => order.push(`third ${granted}`)); // fits, but waits its turn
    assert.equal(budget.reserved(), 6);
    budget.release(6);
    await Promise.all([second, third]);
    assert.deepEqual(order, ['second true', 'third true']);
    assert.equal(budget.reserved(), 7);
    budget.release(7);
    assert.equal(budget.reserved(), 0);
  });

  it('lets a reservation larger than the whole budget go ahead alone, and counts a claim even past the capacity', async () => {
    const budget = createMemoryBudget(10);
    assert.equal(await budget.reserve(50), true);
    budget.claim(5);
    assert.equal(budget.reserved(), 55);
    const waiting = budget.reserve(1); // 55 held: no room
    budget.release(50); // 5 held: room for 1
    assert.equal(await waiting, true);
    assert.equal(budget.reserved(), 6);
  });

  it('gives up a wait that runs out, reserving nothing, and lets those behind it go ahead', async () => {
    const budget = createMemoryBudget(10);
    await budget.reserve(8);
    const big = budget.reserve(5, 0); // cannot fit while 8 are held
    const small = budget.reserve(2); // fits, but is queued behind the big one
    assert.equal(await big, false);
    assert.equal(await small, true);
    assert.equal(budget.reserved(), 10);
    budget.release(10);
    assert.equal(budget.reserved(), 0, 'the expired wait holds nothing');
  });
});
