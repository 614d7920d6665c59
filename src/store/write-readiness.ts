/** Fewest milliseconds between two probe writes, however often readiness is asked. */
export const MIN_PROBE_INTERVAL_MS = 1000;

/**
 * Whether a write can succeed now, as /readyz reports it: yes while the last write succeeded;
 * after a commit failed, a probe write decides (a real, synced commit to a table of its own), so
 * readiness comes back by itself once the disk has room or the database takes writes again.
 */
export type WriteReadiness = {
  /** `commit`, with its outcome recorded: one that throws is a failed write (a refused row is not). */
  track<A extends unknown[], R>(commit: (...args: A) => Promise<R>): (...args: A) => Promise<R>;
  /**
   * Never throws. Probes run one at a time and at most once per MIN_PROBE_INTERVAL_MS, whoever
   * asks (callers in between share the last answer): a public endpoint cannot make the database
   * sync on every request.
   */
  canWrite(): Promise<boolean>;
};

/** Readiness that probes with `probe`, which resolves once its write has committed. */
export function createWriteReadiness(probe: () => Promise<void>, now: () => number = performance.now.bind(performance)): WriteReadiness {
  let writable = true; // the store's opening wrote, or it would not have opened
  let commitOutcomes = 0;
  let lastProbeAt = -Infinity;
  let probing: Promise<boolean> | undefined;

  const startProbe = (): Promise<boolean> => {
    const outcomesBefore = commitOutcomes;
    lastProbeAt = now();
    return probe().then(() => true, () => false).then((ok) => {
      probing = undefined;
      // A commit that ended while the probe ran is newer news than the probe.
      if (commitOutcomes === outcomesBefore) writable = ok;
      return writable;
    });
  };

  return {
    track: (commit) => async (...args) => {
      let result;
      try {
        result = await commit(...args);
      } catch (error) {
        commitOutcomes++;
        writable = false;
        throw error;
      }
      commitOutcomes++;
      writable = true;
      return result;
    },
    canWrite() {
      if (writable) return Promise.resolve(true);
      if (probing === undefined && now() - lastProbeAt >= MIN_PROBE_INTERVAL_MS) probing = startProbe();
      return probing ?? Promise.resolve(false);
    },
  };
}
