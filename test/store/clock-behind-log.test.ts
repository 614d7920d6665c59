import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOCK_BEHIND_LOG, createClockBehindLog } from '../../src/store/clock-behind-log.js';
import { captureLog } from '../helpers/capture-log.js';

describe('the log of a clock behind the newest event', () => {
  it('reports how far behind after every commit, 0 when not, and logs past 1 s at most once a second by the monotonic clock', () => {
    const captured = captureLog();
    const reported: number[] = [];
    let monotonic = 0;
    const stamped = createClockBehindLog(captured.logger, (seconds) => reported.push(seconds), () => monotonic);
    const logged = (): unknown[] => captured.lines.map(({ level, msg, clock_behind_ms }) => ({ level, msg, clock_behind_ms }));

    stamped(1000, 1500); // stamped behind now: the normal case
    stamped(2000, 1000); // 1 s: a slow commit, not a clock
    assert.deepEqual(logged(), []);
    stamped(5000, 1000);
    monotonic += 999;
    stamped(6000, 1000);
    assert.deepEqual(logged(), [{ level: 'error', msg: CLOCK_BEHIND_LOG, clock_behind_ms: 4000 }]);
    monotonic += 1;
    stamped(7000, 1000);
    stamped(8000, 8000);
    assert.deepEqual(logged().slice(1), [{ level: 'error', msg: CLOCK_BEHIND_LOG, clock_behind_ms: 6000 }]);
    assert.deepEqual(reported, [0, 1, 4, 5, 6, 0]);
  });

  it('logs a report that throws, and goes on: it runs after a commit, whose answers it must not change', () => {
    const captured = captureLog();
    const stamped = createClockBehindLog(captured.logger, () => {
      throw new Error('a fault of the report');
    }, () => 0);
    stamped(5000, 1000);
    assert.deepEqual(captured.lines.map(({ msg }) => msg), ['reporting the clock behind the log failed', CLOCK_BEHIND_LOG]);
    assert.match(String(captured.lines[0]!.error), /^Error: a fault of the report\n\s+at /);
  });
});
