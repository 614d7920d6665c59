import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createWriteReadiness, MIN_PROBE_INTERVAL_MS } from '../../src/store/write-readiness.js';

/** A probe the test answers, and a clock it moves. */
function harness() {
  let clock = 0;
  const probes: Array<{ resolve(): void; reject(error: Error): void }> = [];
  const readiness = createWriteReadiness(
    () => new Promise<void>((resolve, reject) => probes.push({ resolve, reject })),
    () => clock,
  );
  const failing = readiness.track(async () => {
    throw new Error('SQLITE_FULL: database or disk is full');
  });
  const succeeding = readiness.track(async () => 'committed');
  return { readiness, probes, failing, succeeding, advance: (ms: number) => (clock += ms) };
}

describe('write readiness', () => {
  it('is ready while commits succeed, without a probe write', async () => {
    const { readiness, probes, succeeding } = harness();
    assert.equal(await readiness.canWrite(), true);
    assert.equal(await succeeding(), 'committed');
    assert.equal(await readiness.canWrite(), true);
    assert.equal(probes.length, 0);
  });

  it('after a failed commit, probes at most once per interval however often it is asked, and shares the answer', async () => {
    const { readiness, probes, failing, advance } = harness();
    await assert.rejects(failing(), /SQLITE_FULL/);
    const asked = Array.from({ length: 50 }, () => readiness.canWrite());
    assert.equal(probes.length, 1, 'one probe for fifty questions');
    probes[0]!.reject(new Error('SQLITE_FULL: database or disk is full'));
    assert.deepEqual(await Promise.all(asked), Array<boolean>(50).fill(false));

    advance(MIN_PROBE_INTERVAL_MS - 1);
    assert.equal(await readiness.canWrite(), false);
    assert.equal(probes.length, 1, 'no second probe within the interval');

    advance(1);
    const next = readiness.canWrite();
    assert.equal(probes.length, 2);
    probes[1]!.resolve(); // the disk has room again
    assert.equal(await next, true);
    assert.equal(await readiness.canWrite(), true);
    assert.equal(probes.length, 2, 'ready again: no more probes');
  });

  it('takes a commit that ends while a probe runs as the newer answer', async () => {
    const { readiness, probes, failing, succeeding, advance } = harness();
    await assert.rejects(failing());
    const probing = readiness.canWrite();
    assert.equal(await succeeding(), 'committed');
    probes[0]!.reject(new Error('SQLITE_FULL: database or disk is full'));
    assert.equal(await probing, true);

    await assert.rejects(failing());
    advance(MIN_PROBE_INTERVAL_MS);
    const again = readiness.canWrite();
    await assert.rejects(failing());
    probes[1]!.resolve();
    assert.equal(await again, false);
  });
});
