import type { Logger } from '../ops/logger.js';
import { createRepeatedFailureLog } from '../ops/repeated-failure-log.js';

/**
 * What every store operation that failed throws, whatever the database and whatever failed: the
 * HTTP layer answers it 503, whatever it is. Made in one place, createStoreFailures.
 *
 * A failure the service recognises (its database file lost, its disk full, its database down,
 * stalled or read-only) is the operator's to fix, not a fault in the code: its message says all
 * there is, and the store has logged it already, counted with the others of the same reason. Any
 * other failure is a fault nobody foresaw (`recognised: false`): its `cause` is to be logged with
 * its stack.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  /**
   * A write whose COMMIT was sent but never confirmed (the connection stalled or broke while the
   * database committed it, or before it got there; see UnconfirmedCommitError): it may or may not
   * have been recorded.
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

/**
 * What a backend throws for a commit that may have happened: a COMMIT sent and never answered, or
 * one it could not confirm (an I/O error at COMMIT, the file lost just after it, a writer thread
 * gone with the commit). The write may or may not have been recorded (a StoreUnavailableError with
 * outcomeUnknown, once it reaches the shared half).
 */
export class UnconfirmedCommitError extends Error {
  override name = 'UnconfirmedCommitError';
}

/** Why `error` is one of a backend's recognised failures (a short reason, the same each time), or undefined. */
export type RecogniseFailure = (error: unknown) => string | undefined;

export type StoreFailures = {
  /**
   * The StoreUnavailableError a store operation that failed with `error` throws: logged (at most
   * once a second per reason, with how many requests it refused) when `recognise` knows the failure
   * or the commit went unconfirmed; otherwise carrying `error` as its cause, for the HTTP layer to
   * log with its stack.
   */
  refused(error: unknown, operation: 'write' | 'read'): StoreUnavailableError;
  close(): void;
};

export function createStoreFailures(log: Logger, recognise: RecogniseFailure): StoreFailures {
  const failures = createRepeatedFailureLog(log);
  return {
    refused(error, operation) {
      if (error instanceof StoreUnavailableError) return error;
      const outcomeUnknown = error instanceof UnconfirmedCommitError;
      const reason = outcomeUnknown ? error.message : recognise(error);
      if (reason === undefined) return new StoreUnavailableError(error instanceof Error ? error.message : String(error), { cause: error, recognised: false });
      failures.failed(`${operation}s refused: ${reason}`);
      return new StoreUnavailableError(reason, { cause: error, outcomeUnknown });
    },
    close: () => failures.close(),
  };
}
