/**
 * Reads the first chunk now, so that a store that cannot answer (or a budget with no room) fails
 * the request before any byte of a 200 is sent, as a 503 its error says; the returned iterable
 * yields that chunk, then the rest as they are read. Stopping early stops the query underneath.
 */
export async function startReading<T>(chunks: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const iterator = chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  return (async function* () {
    try {
      for (let next = first; !next.done; next = await iterator.next()) yield next.value;
    } finally {
      await iterator.return?.();
    }
  })();
}
