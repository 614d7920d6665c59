import type { Logger } from './logger.js';

/** Fewest milliseconds between two lines about the same failure. */
export const REPEAT_INTERVAL_MS = 1000;

/**
 * A log for a failure that repeats for every request while a condition lasts (a lost database
 * file, a full disk, a database that is down): a line per request, with its stack, floods the
 * log under load and buries everything else. Here each distinct `msg` is logged at once the first
 * time, with `requests: 1`; those that follow within a second are counted and logged as one line
 * when the second is over, with how many there were; a second without any ends the run, and the
 * next one is logged at once again. So at most one line a second per failure, and every request
 * counted.
 */
export type RepeatedFailureLog = {
  failed(msg: string, fields?: Record<string, unknown>): void;
  /** Logs what is counted and not yet logged (at shutdown). */
  close(): void;
};

export function createRepeatedFailureLog(log: Logger): RepeatedFailureLog {
  type Run = { count: number; fields: Record<string, unknown>; timer?: NodeJS.Timeout };
  const runs = new Map<string, Run>();

  const report = (msg: string, run: Run): void => {
    if (run.count > 0) log.error({ msg, ...run.fields, requests: run.count });
    run.count = 0;
  };

  return {
    failed(msg, fields = {}) {
      const current = runs.get(msg);
      if (current !== undefined) {
        current.count++;
        return;
      }
      log.error({ msg, ...fields, requests: 1 });
      const run: Run = { count: 0, fields };
      run.timer = setInterval(() => {
        if (run.count > 0) return report(msg, run);
        clearInterval(run.timer);
        if (runs.get(msg) === run) runs.delete(msg);
      }, REPEAT_INTERVAL_MS);
      run.timer.unref();
      runs.set(msg, run);
    },
    close() {
      for (const [msg, run] of runs) {
        report(msg, run);
        clearInterval(run.timer);
      }
      runs.clear();
    },
  };
}
