/**
 * Wakes the live streams (GET /events/stream) when the log may hold new events: at once when this
 * process committed some (notify), and within `pollMs` when the log's last seq moved for another
 * reason (another instance on the same PostgreSQL database, a system event written beside the
 * app). The head is polled only while a stream is open: one read for all of them.
 */
export type CommitSignal = {
  /** Events were committed by this process. */
  notify(): void;
  /** A stream's watch, in force until closed: it catches every change from now on, even one made while its stream was reading. */
  watch(): CommitWatch;
  /** Stops polling (at shutdown). */
  close(): void;
};

export type CommitWatch = {
  /**
   * Resolves true at once when the log may have changed since the last call (or since the watch
   * began), else when it does; false after `timeoutMs`, or once `abort` is aborted. Leaves no
   * timer or listener behind.
   */
  changed(timeoutMs: number, abort: AbortSignal): Promise<boolean>;
  close(): void;
};

/** Reads the seq of the log's last event (0 when empty). */
export type ReadHeadSeq = () => Promise<number>;

export function createCommitSignal(readHeadSeq: ReadHeadSeq, pollMs: number): CommitSignal {
  const watches = new Set<{ mark(): void }>();
  let knownSeq: number | undefined;
  let poller: NodeJS.Timeout | undefined;
  let polling = false;

  const markAll = (): void => {
    for (const watch of watches) watch.mark();
  };
  const poll = async (): Promise<void> => {
    if (polling) return; // a slow database: the next tick reads again once this read is done
    polling = true;
    try {
      const seq = await readHeadSeq();
      if (seq !== knownSeq) markAll();
      knownSeq = seq;
    } catch {
      // The database is down: the streams find out when they read, and say so. Keep polling.
    } finally {
      polling = false;
    }
  };

  return {
    notify: markAll,
    watch() {
      let marked = true; // a new watch reads once before it waits
      let wake: (() => void) | undefined;
      const watch = {
        mark() {
          marked = true;
          wake?.();
        },
      };
      watches.add(watch);
      if (poller === undefined) {
        poller = setInterval(() => void poll(), pollMs);
        poller.unref();
      }
      return {
        changed(timeoutMs, abort) {
          if (marked || abort.aborted) {
            const moved = marked && !abort.aborted;
            marked = false;
            return Promise.resolve(moved);
          }
          return new Promise((resolve) => {
            const done = (moved: boolean): void => {
              clearTimeout(timer);
              abort.removeEventListener('abort', onAbort);
              wake = undefined;
              if (moved) marked = false;
              resolve(moved);
            };
            const onAbort = (): void => done(false);
            const timer = setTimeout(() => done(false), timeoutMs);
            abort.addEventListener('abort', onAbort);
            wake = () => done(true);
          });
        },
        close() {
          watches.delete(watch);
          wake = undefined;
          if (watches.size === 0 && poller !== undefined) {
            clearInterval(poller);
            poller = undefined;
          }
        },
      };
    },
    close() {
      if (poller !== undefined) clearInterval(poller);
      poller = undefined;
    },
  };
}
