import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryBudget } from '../../src/http/memory-budget.js';

describe('createMemoryBudget', () => {
  it('grants what fits at once, makes the rest wait, and wakes them in order as room is given back', async () => {
    const budget = createMemoryBudget(10, 1);
    assert.equal(await budget.reserve(6, 'a'), true);
    const order: string[] = [];
    const second = budget.reserve(6, 'b').then((granted) => order.push(`second ${granted}`));
    const third = budget.reserve(4, 'c').then((granted) => order.push(`third ${granted}`));
    assert.equal(budget.reserved(), 10, 'the third fits beside the first: it need not wait for the second');
    budget.release(6, 'a');
    await Promise.all([second, third]);
    assert.deepEqual(order, ['third true', 'second true']);
    assert.equal(budget.reserved(), 10);
    budget.release(6, 'b');
    budget.release(4, 'c');
    assert.equal(budget.reserved(), 0);
  });

  it('lets a reservation larger than the whole budget go ahead alone, and counts a claim even past the capacity', async () => {
    const budget = createMemoryBudget(10, 1);
    assert.equal(await budget.reserve(50, 'a'), true);
    budget.claim(5, 'a');
    assert.equal(budget.reserved(), 55);
    const waiting = budget.reserve(1, 'b'); // 55 held: no room
    budget.release(50, 'a'); // 5 held: room for 1
    assert.equal(await waiting, true);
    assert.equal(budget.reserved(), 6);
  });

  it('gives up a wait that runs out, reserving nothing', async () => {
    const budget = createMemoryBudget(10, 1);
    await budget.reserve(8, 'a');
    assert.equal(await budget.reserve(5, 'b', 0), false);
    assert.equal(budget.reserved(), 8);
    budget.release(8, 'a');
    assert.equal(budget.reserved(), 0, 'the expired wait holds nothing');
  });

  it('keeps each holder to its share, while others still find room', async () => {
    const budget = createMemoryBudget(100); // a quarter each
    assert.equal(await budget.reserve(20, 'slow readers'), true);
    assert.equal(await budget.reserve(10, 'slow readers', 0), false, 'past its share of 25');
    assert.equal(await budget.reserve(30, 'slow readers', 0), false);
    assert.equal(await budget.reserve(25, 'others'), true);
    assert.equal(await budget.reserve(5, 'slow readers'), true, 'up to its share');
    const fresh = createMemoryBudget(100);
    assert.equal(await fresh.reserve(60, 'big page'), true, 'a holder holding nothing may take more than its share, room permitting');
  });

  it('reserves at once only what fits with nobody waiting, and otherwise reserves nothing', async () => {
    const budget = createMemoryBudget(10, 1);
    assert.equal(budget.tryReserve(6, 'a'), true);
    assert.equal(budget.reserved(), 6);
    assert.equal(budget.tryReserve(5, 'b'), false, 'it does not fit');
    assert.equal(budget.reserved(), 6, 'nothing reserved for it');
    const waiting = budget.reserve(5, 'b');
    assert.equal(budget.tryReserve(1, 'c'), false, 'it fits, but would pass the one waiting');
    assert.equal(budget.reserved(), 6);
    budget.release(6, 'a');
    assert.equal(await waiting, true);
    assert.equal(budget.tryReserve(5, 'c'), true, 'nobody waits any more');
    assert.equal(budget.reserved(), 10);
  });
});
