import type { EventQuery, NewEvent, Removal, StoredEvent, Summary, SummaryGrouping } from '../events/event.js';
import type { Checkpoint } from '../integrity/checkpoint.js';
import type { Logger } from '../ops/logger.js';
import type { PseudonymOf } from '../retention/pseudonym.js';
import type { IndexedField } from './indexed-fields.js';
import type { QueryPlanning } from './sqlite/sqlite-query-plan.js';
import type { SinkChange, SinkRow } from './sink-rows.js';
import type { StorageBackend, StoredCheckpoint } from './storage-backend.js';

/** A proof asked of a tree it cannot be made in (a size beyond the tree, an event not in it): the asker's mistake. */
export class TreeSizeError extends Error {
  override name = 'TreeSizeError';
}

/**
 * Some of a query's matching events, in order. `last` is set on a chunk the store knows ends the
 * answer (nothing is read after it), so that a short answer can be sent whole; a chunk without it
 * may or may not be followed by more.
 */
export type EventChunk = readonly StoredEvent[] & { readonly last?: true };

/**
 * An event's inclusion proof (RFC 9162), and what its leaf is made of: its bytes and the salt of
 * its data. Once the payload was removed, the salt is gone (null), and so are the leaf's bytes
 * after an erasure of the user (null: the leaf's hash alone is proven, see docs/design.md).
 */
export type InclusionProof = { leafIndex: number; treeSize: number; leaf: Buffer | null; leafHash: Buffer; salt: Buffer | null; path: Buffer[]; removed?: Removal };

/** The backend's removals (see StorageBackend), its failures reported as every store failure is. */
export type PayloadRemovals = Pick<StorageBackend, 'removePayloads' | 'reclaimSpace' | 'nextTypeWithPayload' | 'payloadsRecordedBefore'> & {
  /** The pseudonym an erasure gives a subject, keyed with the log's chain secret (see pseudonymOf). */
  pseudonymOf: PseudonymOf;
};

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
  /** The log's signing key file; with SQLite, unset means signing.key beside the database, made on first start. */
  signingKeyFile?: string | undefined;
  /** The log's origin (AUDITOR_LOG_ORIGIN): the name of a key made on first start, and the name a key must bear. */
  logOrigin?: string | undefined;
  /** How often a new checkpoint is signed when the tree has grown, in ms (1 s by default). */
  checkpointIntervalMs?: number;
  /** Told of the latest checkpoint of the Merkle tree each time it changes: its size, and when it was signed. */
  onCheckpoint?: (size: number, createdMs: number) => void;
  /**
   * The fields of `data` the operator declared (AUDITOR_INDEXED_FIELDS): each gets an index at
   * start-up, and an index of a field no longer declared is dropped.
   */
  indexedFields?: readonly IndexedField[];
  /**
   * SQLite: the query planner's sizes (QUERY_PLANNING; tests use small ones, so that a few events
   * take every path).
   */
  queryPlanning?: QueryPlanning;
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
  query(query: EventQuery): AsyncIterable<EventChunk>;
  /**
   * Counts the matching events by `groupBy` (see createGroupCounter for the ranking). Throws a
   * TooManyGroupsError past MAX_COUNTED_GROUPS groups.
   */
  summarize(query: EventQuery, groupBy: SummaryGrouping): Promise<Summary>;
  /** The event with this id, if there is one. */
  get(id: string): Promise<StoredEvent | undefined>;
  /** The head of the tamper-evident chain now, signed with the chain's secret. */
  checkpoint(): Promise<Checkpoint>;
  /** The verifier key of the log's checkpoints (`<origin>+<key ID>+<key>`). */
  readonly verifierKey: string;
  /** The latest signed checkpoint of the Merkle tree, or the one signed at exactly `size` leaves (undefined when none was). */
  signedCheckpoint(size?: number): Promise<StoredCheckpoint | undefined>;
  /**
   * The proof that the event is in the tree of `size` leaves (by default the latest checkpoint's,
   * signed now when the event is newer), or undefined when there is no such event. TreeSizeError
   * when `size` is beyond the tree or the event is not among its leaves.
   */
  inclusionProof(id: string, size?: number): Promise<InclusionProof | undefined>;
  /** The proof that the tree of `from` leaves is a prefix of the tree of `to`; TreeSizeError when they are not trees of this log. */
  consistencyProof(from: number, to: number): Promise<Buffer[]>;
  /** Keeps witnesses' cosignature lines of the checkpoint of `size` (checked by the caller). */
  saveCosignatures(size: number, lines: ReadonlyArray<{ witness: string; line: string; cosignedAt: number }>): Promise<void>;
  /** What retention and erasure (src/retention/) change and read: payloads, and the events that still hold one. */
  readonly removals: PayloadRemovals;
  /** The webhook sinks' rows (src/delivery/), read and changed; failures reported as every store failure is. */
  readonly sinks: {
    list(): Promise<SinkRow[]>;
    change(change: SinkChange): Promise<number>;
  };
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
