import type { EventQuery, NewEvent, StoredEvent } from '../events/event.js';
import type { Checkpoint } from '../integrity/checkpoint.js';
import type { Logger } from '../ops/logger.js';

/** What opening a store may be told, whichever the backend. */
export type StoreOptions = {
  /** Keys the chain (AUDITOR_CHAIN_SECRET); with SQLite, unset means the secret file beside the database. */
  chainSecret?: string | undefined;
  /**
   * Told how many events each committed transaction wrote (replays write none): the SQLite writer
   * commits every commit batch waiting for it in one transaction.
   */
  onTransactionCommitted?: (events: number) => void;
  /**
   * Told, after each commit that stored events, how many seconds this process's clock is behind
   * the newest event it stamped: 0 normally (see createClockBehindLog).
   */
  onClockBehindLog?: (seconds: number) => void;
  /** Where the store reads the time, in ms since the epoch (Date.now; tests move it). */
  clock?: () => number;
  /** Where the store reports what an operator must act on (silent when not given). */
  log?: Logger;
  /** Commits between two prunings of expired idempotency keys (PRUNE_EVERY_COMMITS; tests use 1). */
  pruneEveryCommits?: number;
  /**
   * SQLite: create a new, empty database file although an earlier one's marker, chain secret or
   * -wal is beside it (AUDITOR_ALLOW_NEW_DATABASE=1); otherwise opening refuses, as the database is
   * missing.
   */
  allowNewDatabase?: boolean;
};

/**
 * The only seam between the service and a database. Everything above it is the same whichever
 * database sits below; everything below it knows one database and no HTTP.
 */
export interface EventStore {
  /**
   * Records an event; resolves only once it is durable (committed and synced to disk), with the
   * event as `get` returns it, marked `replayed` when its Idempotency-Key had stored it before.
   * Every failure but an IdempotencyConflictError is a StoreUnavailableError.
   */
  append(event: NewEvent): Promise<StoredEvent>;
  /**
   * Records all the events, or none of them (one submission); resolves once durable. An
   * Idempotency-Key already used for a different event refuses them all (IdempotencyConflictError).
   */
  appendAll(events: readonly NewEvent[]): Promise<StoredEvent[]>;
  /**
   * Yields the matching events in (timestamp, seq) order, ascending or descending as the query
   * says, up to its limit, a chunk at a time. Chunks are read lazily, so stopping the iteration
   * early stops the query.
   */
  query(query: EventQuery): AsyncIterable<readonly StoredEvent[]>;
  /** The event with this id, if there is one. */
  get(id: string): Promise<StoredEvent | undefined>;
  /** The head of the tamper-evident chain now, signed with the chain's secret. */
  checkpoint(): Promise<Checkpoint>;
  /** The space the events take in the database, in bytes (indexes and logs included), for metrics. */
  sizeBytes(): Promise<number>;
  /**
   * Whether an event appended now can be stored (for readiness probes): the database answers and
   * takes writes, as the last write showed or, after one failed, a throttled probe write shows.
   * Cheap, and never throws.
   */
  isReady(): Promise<boolean>;
  /** Finishes pending work and releases the database. */
  close(): Promise<void>;
}
