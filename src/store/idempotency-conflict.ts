/** An Idempotency-Key reused within its window for a different event: nothing was stored. */
export class IdempotencyConflictError extends Error {
  override name = 'IdempotencyConflictError';
}

/** How long an Idempotency-Key holds: a retry within it gets the original answer. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
