import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { createJsonLogger } from '../../src/ops/logger.js';
import { createRepeatedFailureLog } from '../../src/ops/repeated-failure-log.js';

describe('the log of a repeated failure', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
  afterEach(() => mock.timers.reset());

  it('logs the first at once, then at most one line a second per failure with how many there were, and starts again after a quiet second', () => {
    const lines: Array<Record<string, unknown>> = [];
    const failures = createRepeatedFailureLog(createJsonLogger((text) => lines.push(JSON.parse(text) as Record<string, unknown>)));
    const logged = (): unknown[] => lines.map(({ msg, requests, reason }) => ({ msg, requests, ...(reason === undefined ? {} : { reason }) }));

    failures.failed('writes refused: disk full', { reason: 'full' });
    for (let i = 0; i < 99; i++) failures.failed('writes refused: disk full', { reason: 'full' });
    failures.failed('reads refused: down');
    assert.deepEqual(logged(), [
      { msg: 'writes refused: disk full', requests: 1, reason: 'full' },
      { msg: 'reads refused: down', requests: 1 },
    ]);

    mock.timers.tick(1000);
    assert.deepEqual(logged().slice(2), [{ msg: 'writes refused: disk full', requests: 99, reason: 'full' }]);
    for (let i = 0; i < 7; i++) failures.failed('writes refused: disk full', { reason: 'full' });
    mock.timers.tick(999);
    assert.equal(lines.length, 3, 'not before the second is over');
    mock.timers.tick(1);
    assert.deepEqual(logged().slice(3), [{ msg: 'writes refused: disk full', requests: 7, reason: 'full' }]);

    mock.timers.tick(5000); // quiet: the runs end
    assert.equal(lines.length, 4);
    failures.failed('writes refused: disk full', { reason: 'full' });
    failures.failed('writes refused: disk full', { reason: 'full' });
    assert.deepEqual(logged().slice(4), [{ msg: 'writes refused: disk full', requests: 1, reason: 'full' }], 'at once again');

    failures.close();
    assert.deepEqual(logged().slice(5), [{ msg: 'writes refused: disk full', requests: 1, reason: 'full' }], 'the count not yet logged, at close');
    mock.timers.tick(5000);
    assert.equal(lines.length, 6);
  });
});
