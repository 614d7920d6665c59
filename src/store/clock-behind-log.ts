import type { Logger } from '../ops/logger.js';
import { REPEAT_INTERVAL_MS } from '../ops/repeated-failure-log.js';

/** How far behind the events it stamps this process's clock may be before it is said: more than any commit takes. */
export const CLOCK_BEHIND_LOG_MS = 1000;

export const CLOCK_BEHIND_LOG =
  "this process's clock is behind the newest event in the log: events are stamped with that event's time, not now, " +
  'until the clock catches up; check the time sync (NTP) of this host and of every instance writing to the database';

/**
 * Watches the events a commit stamped against this process's clock. The planner never stamps an
 * event behind the newest one, so after one commit under a clock that ran ahead (an NTP step, a VM
 * restored with a wrong clock, another instance's clock), every later event carries that time
 * until real time catches up. Writes go on (refusing them would lose events, from the clients'
 * side), but it is said: `report` is told how far behind the clock is, 0 normally, after each
 * commit that stored events; past CLOCK_BEHIND_LOG_MS a line says so, at most once a second.
 */
export function createClockBehindLog(
  log: Logger,
  report: (seconds: number) => void,
  monotonicNow: () => number = performance.now.bind(performance),
): (newestStampedMs: number, nowMs: number) => void {
  let loggedAt = -Infinity;
  return (newestStampedMs, nowMs) => {
    const behindMs = Math.max(0, newestStampedMs - nowMs);
    try {
      report(behindMs / 1000);
    } catch (error) {
      // After a commit: a fault of the report's, which changes no answer.
      log.error({ msg: 'reporting the clock behind the log failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
    if (behindMs <= CLOCK_BEHIND_LOG_MS) return;
    const at = monotonicNow();
    if (at - loggedAt < REPEAT_INTERVAL_MS) return;
    loggedAt = at;
    log.error({ msg: CLOCK_BEHIND_LOG, clock_behind_ms: behindMs });
  };
}
