/** The result of one item of a commit batch: its value, or the error that kept it out. */
export type BatchOutcome<R> = { ok: true; value: R } | { ok: false; error: Error };

/**
 * Commits a batch. It returns one outcome per item, in order, once the batch committed (an item
 * that could not be stored fails alone); it throws when the batch as a whole did not commit, which
 * fails every item of it.
 */
export type CommitBatch<T, R> = (items: readonly T[]) => readonly BatchOutcome<R>[] | Promise<readonly BatchOutcome<R>[]>;

export type GroupCommit<T, R> = {
  /** Queues an item; resolves once the batch holding it has committed. */
  submit(item: T): Promise<R>;
  /** Resolves once everything submitted so far has been committed or failed. */
  drain(): Promise<void>;
};

type Pending<T, R> = { item: T; resolve(value: R): void; reject(error: Error): void };

/**
 * Group commit: every item submitted during one turn of the event loop goes into one commit batch,
 * committed together, so one disk sync serves them all. The batch size follows the load
 * by itself (it is whatever arrived during the turn, up to `maxBatch`). Up to `maxInFlight`
 * batches (default 1) may be committing at once, for a committer that queues them itself; beyond
 * that, arrivals wait for the next free slot. No item waits for more than the rest of its turn plus
 * the commits ahead of it and its own.
 */
export function createGroupCommit<T, R>(
  commit: CommitBatch<T, R>,
  options: {
    maxBatch: number;
    maxInFlight?: number;
    /** How much of `maxBatch` an item takes (1 by default); an item is never split. */
    weight?: (item: T) => number;
  },
): GroupCommit<T, R> {
  let queue: Array<Pending<T, R>> = [];
  let scheduled = false;
  let inFlight = 0;
  const maxInFlight = options.maxInFlight ?? 1;
  const idle: Array<() => void> = [];

  const schedule = (): void => {
    if (scheduled || inFlight >= maxInFlight) return;
    scheduled = true;
    // setImmediate runs after this turn's I/O callbacks, so the batch holds every request that
    // arrived in the turn.
    setImmediate(flush);
  };

  const flush = (): void => {
    scheduled = false;
    const weight = options.weight ?? (() => 1);
    let take = 0;
    for (let total = 0; take < queue.length && (take === 0 || total + weight(queue[take]!.item) <= options.maxBatch); take++) {
      total += weight(queue[take]!.item);
    }
    const batch = take === queue.length ? queue : queue.splice(0, take);
    if (batch === queue) queue = [];
    inFlight++;
    void commitBatch(batch).finally(() => {
      inFlight--;
      if (queue.length > 0) schedule();
      else if (inFlight === 0) for (const resolve of idle.splice(0)) resolve();
    });
    if (queue.length > 0) schedule();
  };

  const commitBatch = async (batch: Array<Pending<T, R>>): Promise<void> => {
    let outcomes: readonly BatchOutcome<R>[];
    try {
      outcomes = await commit(batch.map((pending) => pending.item));
      if (outcomes.length !== batch.length) throw new Error(`commit returned ${outcomes.length} outcomes for ${batch.length} items`);
    } catch (error) {
      for (const pending of batch) pending.reject(error as Error);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  };

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
    drain() {
      if (queue.length === 0 && inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
