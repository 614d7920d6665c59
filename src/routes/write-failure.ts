import { HttpError } from '../http/http-error.js';
import { StoreUnavailableError } from '../store/store-unavailable.js';

const UNCONFIRMED = 'The database did not confirm the commit: ';

/** What a 503 says became of the write, by what was written and what the store knows. */
function message(error: unknown, write: { batch: boolean; idempotencyKey: boolean }): string {
  if (!(error instanceof StoreUnavailableError && error.outcomeUnknown)) {
    // Not committed, so not recorded: say so plainly, and that a retry is safe.
    return write.batch ? 'The events could not be stored and none was recorded; retry later' : 'The event could not be stored and was not recorded; retry later';
  }
  if (write.batch) {
    return `${UNCONFIRMED}the events were recorded all together or not at all. Look for them (GET /events) before sending them again, ` +
      'which would store them twice if they were';
  }
  return write.idempotencyKey
    ? `${UNCONFIRMED}the event may or may not have been recorded. Retry with the same Idempotency-Key: that stores it once, whichever happened`
    : `${UNCONFIRMED}the event may or may not have been recorded, and a retry may store it twice. Send an Idempotency-Key with each event to make retries safe`;
}

/**
 * A write the store did not commit (or cannot say it did): 503 with Retry-After and what became of
 * it. A failure the store recognised (StoreUnavailableError) was logged there, counted and without
 * a stack, so it goes without its cause; any other keeps it, to be logged with its stack.
 */
export function writeFailed(error: unknown, write: { batch: boolean; idempotencyKey: boolean }): HttpError {
  return new HttpError(503, message(error, write), { 'Retry-After': '1' }, error instanceof StoreUnavailableError ? (error.logged ? {} : { cause: error.cause }) : { cause: error });
}
