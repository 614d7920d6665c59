/**
 * What `npm run verify` reads to rebuild the Merkle tree from the stored rows, on either backend:
 * the log's extent, then whole ranges of seqs (the events, their leaf rows and the checkpoints
 * signed inside the range), each read by a worker thread on a connection of its own.
 */
import type { DatabaseLocation } from '../config.js';
import type { RemovalRecord } from '../integrity/removal-claims.js';
import type { ChainRow } from '../integrity/verify-chain.js';

/**
 * A row of merkle_leaves: the salt of its event's data, its leaf hash, and the subtrees it
 * completes; once its event's payload was removed, the data's commitment kept in the salt's place
 * (null when an erasure of its user dropped it too, undefined from a database before removals).
 */
export type StoredLeaf = { seq: number; salt: Buffer | null; hash: Buffer; nodes: Buffer; dataSha256?: Buffer | null };

/** A row of checkpoints: the size it was signed at, the root kept beside it, and the signed note. */
export type StoredCheckpointRow = { size: number; rootHash: Buffer; note: string };

/** What is stored at one seq: its event and its leaf row, either of which may be missing. */
export type SeqRow = { seq: number; event: ChainRow | undefined; leaf: StoredLeaf | undefined };

/** Everything stored for the seqs of one range. */
export type RangeRows = {
  /**
   * Each seq of the range that holds an event or a leaf, in seq order, read as it is iterated
   * (once), so that each row is garbage almost as soon as it is made.
   */
  rows: Iterable<SeqRow>;
  /** The checkpoints signed at a size inside the range, smallest first. */
  checkpoints: StoredCheckpointRow[];
  /** The chain hash of the last event before the range (seq 1 or more), or null when it has none or there is none. */
  previousHash: Buffer | null;
};

/** The log's extent, read in one snapshot. */
export type LogExtent = {
  /** The highest seq of an event (0 when there is none). */
  lastEventSeq: number;
  /** The highest seq of a leaf row (0 when there is none). */
  lastLeafSeq: number;
  /** The smallest and the largest size a checkpoint was kept at (undefined when there is none). */
  firstCheckpointSize: number | undefined;
  latestCheckpointSize: number | undefined;
  /** The seq from which each event's chain link is taken over its leaf (undefined in a database from before). */
  chainOverLeavesFrom: number | undefined;
};

/** What the database's own check of its files and indexes found. */
export type DatabaseCheck =
  | { kind: 'ok'; what: string }
  | { kind: 'damaged'; what: string; problems: string[] }
  | { kind: 'unavailable'; what: string; reason: string };

export interface TreeRows {
  extent(): Promise<LogExtent>;
  /** The events with a seq below 1, which no event the service wrote has: at most `limit`, lowest first. */
  eventsBelowOne(limit: number): Promise<Array<{ seq: number; id: string }>>;
  /** The leaf rows with a seq below 1. */
  leavesBelowOne(limit: number): Promise<number[]>;
  /** Everything stored for seqs `from` to `to` (inclusive). */
  range(from: number, to: number): Promise<RangeRows>;
  /**
   * The auditor.retention and auditor.erasure events among those with the given ids (any other id
   * is left out): the records a chunk's removed events name, wherever in the log they are.
   */
  removalRecords(ids: readonly string[]): Promise<RemovalRecord[]>;
  /** The first seq after `seq` that holds an event or a leaf, if any. */
  nextSeqAfter(seq: number): Promise<number | undefined>;
  /** The checkpoint kept at `size`, if any. */
  checkpoint(size: number): Promise<StoredCheckpointRow | undefined>;
  /** The sizes of the checkpoints kept above `size`, smallest first, at most `limit`. */
  checkpointSizesAbove(size: number, limit: number): Promise<number[]>;
  /** The sizes of the checkpoints kept at a size from `from` to `to`, at most `limit`. */
  checkpointSizesBetween(from: number, to: number, limit: number): Promise<number[]>;
  /** The database's own check: SQLite's integrity_check, PostgreSQL's amcheck where it can run. */
  checkDatabase(): Promise<DatabaseCheck>;
  close(): Promise<void>;
}

/** Opens AUDITOR_DB's rows for reading only: it must exist, and is neither created nor migrated. */
export async function openTreeRows(database: DatabaseLocation): Promise<TreeRows> {
  if (database.kind === 'sqlite') {
    const { openSqliteTreeRows } = await import('./sqlite/sqlite-tree-rows.js');
    return openSqliteTreeRows(database.path);
  }
  const { openPostgresTreeRows } = await import('./postgres/postgres-tree-rows.js');
  return openPostgresTreeRows(database.url);
}
