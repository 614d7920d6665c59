/**
 * One removal batch, hold placement or release at a time in this process: a batch reads the holds
 * in force and removes what they do not keep, and a hold placed in between would otherwise miss it.
 * Ingest never waits on it.
 */
export type RemovalLock = <T>(work: () => Promise<T>) => Promise<T>;

export function createRemovalLock(): RemovalLock {
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
}
