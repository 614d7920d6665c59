import type { IncomingMessage } from 'node:http';
import { IdempotencyConflictError } from '../store/idempotency.js';
import { StoreUnavailableError } from '../store/store-unavailable.js';
import { HttpError } from './http-error.js';
import type { StoreUse } from './route.js';

const RETRY_AFTER = { 'Retry-After': '1' };
const UNCONFIRMED = 'The database did not confirm the commit: ';

/**
 * The answer to what the store refused, or undefined when `error` is not the store's: a
 * StoreUnavailableError is a 503 with Retry-After that says what became of the request, by what
 * the route asked of the store (`use`); an Idempotency-Key reused for a different event is a 422.
 * A failure the store recognised was logged there, counted and without a stack, so its answer
 * goes without a cause; one it did not recognise keeps its cause, for sendError to log.
 */
export function storeRefusal(error: unknown, request: IncomingMessage, use: StoreUse | undefined): HttpError | undefined {
  if (error instanceof IdempotencyConflictError) {
    // The route checked the header before the store saw it: visible ASCII, safe to echo.
    const key = String(request.headers['idempotency-key']);
    return new HttpError(422, `The Idempotency-Key "${key}" was already used for a different event; nothing was recorded`);
  }
  if (!(error instanceof StoreUnavailableError)) return undefined;
  const cause = error.recognised ? {} : { cause: error.cause ?? error };
  return new HttpError(503, message(error, request, use), RETRY_AFTER, cause);
}

function message(error: StoreUnavailableError, request: IncomingMessage, use: StoreUse | undefined): string {
  switch (use) {
    case 'read':
      return 'The events could not be read from the database; retry later';
    case undefined:
      return 'The database is unavailable; retry later';
    case 'keep':
      return 'The database could not keep it now; retry later';
    case 'append-all':
      // All or none either way; only a commit the database did not confirm leaves the client to look.
      return error.outcomeUnknown
        ? `${UNCONFIRMED}the events were recorded all together or not at all. Look for them (GET /events) before sending them again, ` +
            'which would store them twice if they were'
        : 'The events could not be stored and none was recorded; retry later';
    case 'append':
      if (!error.outcomeUnknown) return 'The event could not be stored and was not recorded; retry later';
      return request.headers['idempotency-key'] !== undefined
        ? `${UNCONFIRMED}the event may or may not have been recorded. Retry with the same Idempotency-Key: that stores it once, whichever happened`
        : `${UNCONFIRMED}the event may or may not have been recorded, and a retry may store it twice. Send an Idempotency-Key with each event to make retries safe`;
  }
}
