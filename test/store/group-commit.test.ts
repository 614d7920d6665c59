import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGroupCommit, type BatchOutcome } from '../../src/store/group-commit.js';

const ok = <R>(value: R): BatchOutcome<R> => ({ ok: true, value });

describe('group commit', () => {
  it('commits everything submitted in one turn of the event loop as one batch', async () => {
    const batches: number[][] = [];
    const writer = createGroupCommit((items: readonly number[]) => {
      batches.push([...items]);
      return items.map((i) => ok(i * 10));
    }, { maxBatch: 100 });

    const first = await Promise.all([1, 2, 3].map((i) => writer.submit(i)));
    const second = await Promise.all([4, 5].map((i) => writer.submit(i)));
    assert.deepEqual(first, [10, 20, 30]);
    assert.deepEqual(second, [40, 50]);
    assert.deepEqual(batches, [[1, 2, 3], [4, 5]]);
  });

  it('splits a burst larger than the cap into batches of at most the cap, in order', async () => {
    const batches: number[][] = [];
    const writer = createGroupCommit((items: readonly number[]) => {
      batches.push([...items]);
      return items.map(ok);
    }, { maxBatch: 4 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => writer.submit(i)));
    assert.deepEqual(results, Array.from({ length: 10 }, (_, i) => i));
    assert.deepEqual(batches, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  it('resolves nothing before its commit has returned', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const writer = createGroupCommit(async (items: readonly string[]) => {
      await gate;
      return items.map(ok);
    }, { maxBatch: 10 });

    let settled = false;
    const pending = writer.submit('a').then(() => (settled = true));
    for (let i = 0; i < 5; i++) await nextTurn();
    assert.equal(settled, false);
    release();
    await pending;
    assert.equal(settled, true);
  });

  it('fails every item of a batch whose commit fails, and none of another batch', async () => {
    let commits = 0;
    const writer = createGroupCommit((items: readonly string[]) => {
      if (++commits === 1) throw new Error('disk I/O error');
      return items.map(ok);
    }, { maxBatch: 10 });

    const failed = await Promise.allSettled(['a', 'b', 'c'].map((item) => writer.submit(item)));
    const later = await Promise.allSettled(['d', 'e'].map((item) => writer.submit(item)));
    assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
    for (const result of failed) assert.match(String((result as PromiseRejectedResult).reason), /disk I\/O error/);
    assert.deepEqual(later, [{ status: 'fulfilled', value: 'd' }, { status: 'fulfilled', value: 'e' }]);
  });

  it('fails only the item the commit reports as failed', async () => {
    const writer = createGroupCommit((items: readonly string[]) =>
      items.map((item): BatchOutcome<string> => (item === 'bad' ? { ok: false, error: new Error('bad row') } : ok(item))),
    { maxBatch: 10 });
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((item) => writer.submit(item)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  });

  it('hands over up to maxInFlight batches before the first commits, and holds the rest', async () => {
    const started: string[][] = [];
    const gates: Array<() => void> = [];
    const writer = createGroupCommit(async (items: readonly string[]) => {
      started.push([...items]);
      await new Promise<void>((resolve) => gates.push(resolve));
      return items.map(ok);
    }, { maxBatch: 10, maxInFlight: 2 });

    const a = writer.submit('a');
    await nextTurn();
    const b = writer.submit('b');
    await nextTurn();
    const c = writer.submit('c');
    await nextTurn();
    assert.deepEqual(started, [['a'], ['b']], 'a third batch waits for a free slot');
    gates[0]!();
    assert.equal(await a, 'a');
    for (let turn = 0; turn < 3; turn++) await nextTurn(); // the freed slot is used at the next flush
    assert.deepEqual(started, [['a'], ['b'], ['c']]);
    gates[1]!();
    gates[2]!();
    assert.deepEqual(await Promise.all([b, c]), ['b', 'c']);
    await writer.drain();
  });

  it('queues what arrives during a slow commit into the next batch, and drains', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const writer = createGroupCommit(async (items: readonly string[]) => {
      batches.push([...items]);
      if (batches.length === 1) await gate;
      return items.map(ok);
    }, { maxBatch: 10 });

    const a = writer.submit('a');
    await nextTurn();
    const b = writer.submit('b');
    const c = writer.submit('c');
    await nextTurn();
    assert.deepEqual(batches, [['a']], 'nothing else commits while a commit is in flight');
    let drained = false;
    const drain = writer.drain().then(() => (drained = true));
    release();
    assert.deepEqual(await Promise.all([a, b, c]), ['a', 'b', 'c']);
    await drain;
    assert.equal(drained, true);
    assert.deepEqual(batches, [['a'], ['b', 'c']]);
  });
});
