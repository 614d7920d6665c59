import type { Logger } from '../ops/logger.js';
import { createRepeatedFailureLog } from '../ops/repeated-failure-log.js';

/**
 * A store operation that failed for a condition the service recognises: its database file lost,
 * its disk full, its database down, stalled or read-only. It is the operator's to fix, not a
 * fault in the code, so its message says all there is (no stack), and the store has logged it
 * already, counted with the others of the same reason (see createStoreFailures): the HTTP layer
 * only answers it, 503.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  /**
   * A write whose COMMIT was sent but never acknowledged (the connection stalled or broke while
   * the database committed it, or before it got there): it may or may not have been recorded.
   */
  readonly outcomeUnknown: boolean;
  /**
   * False for a failure the store does not know (a driver error it has no reason for), wrapped so
   * that every store failure arrives as this one type: the store has not logged it, so the HTTP
   * layer logs its cause, with the stack, for someone to look into.
   */
  readonly recognised: boolean;

  constructor(reason: string, options: ErrorOptions & { outcomeUnknown?: boolean; recognised?: boolean } = {}) {
    super(reason, options);
    this.outcomeUnknown = options.outcomeUnknown === true;
    this.recognised = options.recognised !== false;
  }
}

/** Why `error` is one of a backend's recognised failures (a short reason, the same each time), or undefined. */
export type RecogniseFailure = (error: unknown) => string | undefined;

export type StoreFailures = {
  /**
   * What a store operation that failed with `error` should throw: a StoreUnavailableError, logged
   * (at most once a second per reason, with how many requests it refused), when `recognise` knows
   * the failure; `error` itself when not (the HTTP layer logs that with its stack).
   */
  refused(error: unknown, operation: 'write' | 'read'): unknown;
  close(): void;
};

export function createStoreFailures(log: Logger, recognise: RecogniseFailure): StoreFailures {
  const failures = createRepeatedFailureLog(log);
  return {
    refused(error, operation) {
      let refusal: StoreUnavailableError;
      if (error instanceof StoreUnavailableError) {
        refusal = error;
      } else {
        const reason = recognise(error);
        if (reason === undefined) return error;
        refusal = new StoreUnavailableError(reason, { cause: error });
      }
      failures.failed(`${operation}s refused: ${refusal.message}`);
      return refusal;
    },
    close: () => failures.close(),
  };
}
