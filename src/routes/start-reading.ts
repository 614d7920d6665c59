/** A reading whose first chunk has been read. */
export type StartedReading<T> = {
  /** The first chunk, or undefined when there is none. */
  first: T | undefined;
  /** Every chunk, the first included; the reading stops when they end or their iteration stops. */
  chunks: AsyncIterable<T>;
  /** Stops the reading, for an answer that does not iterate `chunks`. */
  stop(): Promise<void>;
};

/**
 * Reads the first chunk now, so that a store that cannot answer (or a budget with no room) fails
 * the request before any byte of a 200 is sent, as a 503 its error says; the chunks then yield
 * that chunk, then the rest as they are read. Stopping early stops the query underneath.
 */
export async function startReading<T>(chunks: AsyncIterable<T>): Promise<StartedReading<T>> {
  const iterator = chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    first: first.done ? undefined : first.value,
    // Made only when iterated: an async generator made per answer and never run kept what it
    // refers to (the first chunk) alive through young-generation collections, which then took
    // many times longer under load.
    chunks: { [Symbol.asyncIterator]: () => resume(first, iterator) },
    async stop() {
      await iterator.return?.();
    },
  };
}

async function* resume<T>(first: IteratorResult<T>, iterator: AsyncIterator<T>): AsyncGenerator<T> {
  try {
    for (let next = first; !next.done; next = await iterator.next()) yield next.value;
  } finally {
    await iterator.return?.();
  }
}
