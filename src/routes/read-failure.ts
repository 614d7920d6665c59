import { HttpError } from '../http/http-error.js';
import { StoreUnavailableError } from '../store/store-unavailable.js';

/**
 * A read the database could not serve (it is down, or failed): 503 with Retry-After, as for a
 * write it could not commit, rather than a 500 that blames the service. The cause is logged, never
 * sent: by the store, counted and without a stack, when it recognised it (StoreUnavailableError);
 * with its stack otherwise.
 */
export function readFailed(error: unknown): HttpError {
  const cause = error instanceof StoreUnavailableError ? (error.logged ? {} : { cause: error.cause }) : { cause: error };
  return new HttpError(503, 'The events could not be read from the database; retry later', { 'Retry-After': '1' }, cause);
}

/**
 * Reads the first chunk now, so that a database that cannot answer gets a 503 before any byte of
 * a 200 is sent; the returned iterable yields it, then the rest as they are read. Stopping early
 * stops the query underneath.
 */
export async function startReading<T>(chunks: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const iterator = chunks[Symbol.asyncIterator]();
  let first: IteratorResult<T>;
  try {
    first = await iterator.next();
  } catch (error) {
    if (error instanceof HttpError) throw error; // an answer of its own (the service is busy)
    throw readFailed(error);
  }
  return (async function* () {
    try {
      for (let next = first; !next.done; next = await iterator.next()) yield next.value;
    } finally {
      await iterator.return?.();
    }
  })();
}
