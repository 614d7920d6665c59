import type { EventQuery, NewEvent, Summary, SummaryGrouping } from '../events/event.js';
import type { SubtreeReader } from '../integrity/merkle-tree.js';
import type { SigningKey } from '../integrity/signing-key.js';
import type { ChainRow } from '../integrity/verify-chain.js';
import type { PayloadRemoval } from './payload-removal.js';
import type { EventRow, ReadChunk } from './read-in-chunks.js';
import type { SinkChange, SinkRow } from './sink-rows.js';
import type { RecogniseFailure } from './store-unavailable.js';

/**
 * The events of one POST, stored all together or not at all: the one event of POST /events, or
 * every event of a POST /events/batch. Group commit gathers submissions into commit batches; a
 * submission is never split across two.
 */
export type Submission = readonly NewEvent[];

/**
 * Where one event of a submission went: stored now, or found stored under its Idempotency-Key
 * (`replayed`). A tuple: the SQLite writer thread sends thousands of them back per transaction,
 * and tuples clone faster than objects.
 */
export type Placement = readonly [id: string, timestampMs: number, seq: number, replayed: boolean];

/** What became of one submission in a commit, the same from either backend. */
export type SubmissionOutcome =
  | { kind: 'stored'; placements: Placement[] }
  /** One of its Idempotency-Keys was used for a different event: nothing of it was stored. */
  | { kind: 'conflict' }
  /** The database refused one of its rows (`reason`): nothing of it was stored. */
  | { kind: 'refused'; reason: string };

/** An Idempotency-Key as stored: which request it answered, the event that stored, and when. */
export type IdempotencyRecord = {
  keyName: string;
  idempotencyKey: string;
  /** The digest of the event it was sent with (idempotencyRequestDigest). */
  request: Buffer;
  eventId: string;
  timestampMs: number;
  seq: number;
  createdMs: number;
};

/** The chained events at one moment, read in one snapshot: the first and the last one. */
export type ChainExtent = { firstSeq: number; lastSeq: number; lastId: string; lastHash: Buffer };

/** A checkpoint of the Merkle tree as kept: signed by the log, and any witnesses' cosignatures of it. */
export type StoredCheckpoint = {
  size: number;
  rootHash: Buffer;
  /** The signed note: the checkpoint's text, a blank line, the log's signature line. */
  note: string;
  createdMs: number;
  /** Witnesses' cosignature lines, each ending in a line break. */
  cosignatures: string[];
};

/** A checkpoint to keep, signed by this process. */
export type NewCheckpoint = Omit<StoredCheckpoint, 'cosignatures'>;

/** An event's row in the Merkle tree as stored: the salt of its data, its leaf hash, the subtrees it completes. */
export type LeafRow = { seq: number; salt: Buffer; leafHash: Buffer; nodes: Buffer };

/** A leaf row as a copy reads it: once its event's payload was removed, its salt gone and the data's commitment kept, or not (see StoredLeaf). */
export type CopiedLeafRow = Omit<LeafRow, 'salt'> & { salt: Buffer | null; dataSha256: Buffer | null };

/** An event the retention job may remove, with what a legal hold may name of it. */
export type RemovalCandidate = { seq: number; timestampMs: number; userId: string };

/** What an event's leaf is made of: its fields, its seq (leaf seq - 1), and the salt of its data. */
export type LeafSource = ChainRow & {
  salt: Buffer | null;
  /** Once the payload was removed: the data's commitment kept in the salt's place (null after an erasure of the user), and the stored leaf hash. */
  dataSha256: Buffer | null;
  leafHash: Buffer | null;
  /** When the payload was removed (with removedBy and removal): null before. */
  removedMs: number | null;
};

/**
 * What any opened database gives: its events, read. The command-line tools open one read-only
 * (see openEventReader); the service's backend is one too.
 */
export interface EventReader {
  /** Reads a query's chunks (see readInChunks), each with one statement. */
  readChunks(query: EventQuery): ReadChunk;
  /** Counts a query's events by `groupBy` (see EventStore.summarize). */
  summarize(query: EventQuery, groupBy: SummaryGrouping): Promise<Summary>;
  get(id: string): Promise<EventRow | undefined>;
  /** Undefined while no event is chained. */
  chainExtent(): Promise<ChainExtent | undefined>;
  /**
   * Every event after `afterSeq` in seq (commit) order, with what the chain covers, read so that
   * memory stays flat however many there are.
   */
  chainRows(afterSeq?: number): AsyncIterable<ChainRow>;
  /** The space the events take, in bytes (indexes and logs included). */
  sizeBytes(): Promise<number>;
  /** How many leaves the Merkle tree holds: every event committed has one. */
  treeSize(): Promise<number>;
  /** The stored hashes of complete subtrees of the Merkle tree. */
  subtrees: SubtreeReader;
  /** The event with this id, with what its leaf is made of. */
  leafSource(id: string): Promise<LeafSource | undefined>;
  /**
   * The first event type after `after`, in the database's order of text, that has events still
   * holding their payload; undefined when there is none. Walks the retention job's index.
   */
  nextTypeWithPayload(after: string): Promise<string | undefined>;
  /**
   * Up to `limit` events of `eventType` still holding their payload, recorded before `beforeMs`,
   * after `afterSeq`, in seq order: what the retention job may remove next.
   */
  payloadsRecordedBefore(eventType: string, beforeMs: number, afterSeq: number, limit: number): Promise<RemovalCandidate[]>;
  /** The checkpoint kept for the tree of `size` leaves, or the latest one when no size is given. */
  checkpoint(size?: number): Promise<StoredCheckpoint | undefined>;
  /** Every webhook sink's row, oldest first. */
  sinks(): Promise<SinkRow[]>;
  close(): Promise<void>;
}

/**
 * One database under the service: only what differs between SQLite and PostgreSQL, its SQL and
 * the machinery around its files or its connections. The rules (the plan of each commit, group
 * commit, chunks, checkpoints, readiness, what a failure becomes) live once, above it, in
 * createEventStore and planCommit.
 */
export interface StorageBackend extends EventReader {
  /** What keys the chain. */
  readonly chainSecret: Buffer;
  /** What signs the Merkle tree's checkpoints. */
  readonly signingKey: SigningKey;
  /** Commit batches handed over before the first is answered (see createGroupCommit). */
  readonly maxBatchesInFlight: number;
  /**
   * Commits the submissions in one transaction or more, each planned by planCommit from the head
   * and the Idempotency-Keys read inside it; resolves with one outcome per submission once durable.
   * It throws when nothing of them was committed, or an UnconfirmedCommitError when they may have
   * been; a submission whose row the database refuses (isRowRefusal) fails alone.
   */
  commit(submissions: readonly Submission[]): Promise<SubmissionOutcome[]>;
  /** Keeps a signed checkpoint (unless one of its size is kept already: it is the same). */
  saveCheckpoint(checkpoint: NewCheckpoint): Promise<void>;
  /** Keeps witnesses' cosignature lines of the checkpoint of `size` (a witness's first line stays). */
  saveCosignatures(size: number, lines: ReadonlyArray<{ witness: string; line: string; cosignedAt: number }>): Promise<void>;
  /** Deletes the Idempotency-Keys recorded at or before `createdUpToMs`, after and apart from any commit. */
  prune(createdUpToMs: number): Promise<void>;
  /** Makes one batch of payload removals in one transaction; resolves with how many events it changed. */
  removePayloads(removal: PayloadRemoval): Promise<number>;
  /** Gives the space removals freed back (SQLite: an incremental vacuum, the WAL truncated; PostgreSQL: VACUUM). */
  reclaimSpace(): Promise<void>;
  /** Changes a webhook sink's row, committed on its own; resolves with how many rows changed (0 or 1). */
  changeSink(change: SinkChange): Promise<number>;
  /** Resolves once a write like a commit's has committed now; rejects with why it could not. */
  probeWrite(): Promise<void>;
  /** Whether the database answers and would take writes, within `timeoutMs`; never throws. */
  answers(timeoutMs: number): Promise<boolean>;
  /** Which of its driver's failures are a condition of the database rather than a fault of the code. */
  readonly recogniseFailure: RecogniseFailure;
}
