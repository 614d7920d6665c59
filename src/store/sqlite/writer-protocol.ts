/** Messages between the SQLite backend and its writer thread. */
import type { PayloadRemoval } from '../payload-removal.js';
import type { SinkChange } from '../sink-rows.js';
import type { SubmissionOutcome } from '../storage-backend.js';
import type { FileIdentity } from './database-files.js';

/** What the writer thread is started with. */
export type WriterData = {
  path: string;
  chainSecret: Uint8Array;
  /** The files the store opened: the writer writes nothing once the paths name others. */
  identity: FileIdentity;
};

/** One event to insert. Tuples clone faster than objects. */
export type EventTuple = [userId: string, eventType: string, dataJson: string, keyName: string | null, idempotencyKey: string | null];

/** Work other than commits, answered by `done` with its number. */
export type WriterTask =
  /** Delete the Idempotency-Keys recorded at or before `createdUpToMs`, in a transaction of its own. */
  | { kind: 'prune'; createdUpToMs: number }
  /** Write the probe row (see createWriteProbe), to learn whether a write can succeed now. */
  | { kind: 'probe' }
  /** The database's files are lost (`reason`): write nothing more, and copy what the open file holds to `to`. */
  | { kind: 'rescue'; to: string; reason: string }
  /** Keep a signed checkpoint of the tree of `size` leaves (unless one of that size is kept). */
  | { kind: 'checkpoint'; size: number; rootHash: Uint8Array; note: string; createdMs: number }
  /** Keep witnesses' cosignature lines of the checkpoint of `size` (the first of each witness stays). */
  | { kind: 'cosign'; size: number; lines: Array<[witness: string, line: string, cosignedAt: number]> }
  /** Remove payloads (see PayloadRemoval), in a transaction of its own; `count` says how many events changed. */
  | { kind: 'remove'; removal: PayloadRemoval }
  /** Give the space freed by removals back: an incremental vacuum, and the WAL truncated. */
  | { kind: 'reclaim' }
  /** Change a webhook sink's row (see sink-rows.ts); `count` says how many rows changed. */
  | { kind: 'sink'; change: SinkChange };

export type WriterRequest =
  /** One commit batch, planned at `now` by the main thread's clock. */
  | { kind: 'commit'; batch: number; submissions: EventTuple[][]; now: number }
  | (WriterTask & { task: number })
  | { kind: 'close' };

export type WriterReply =
  /**
   * The batches committed, in one transaction, each with its number of submissions: each
   * submission's outcome, the batches' in order, and how many events the transaction wrote.
   */
  | { kind: 'committed'; batches: Array<[batch: number, submissions: number]>; outcomes: SubmissionOutcome[]; events: number }
  /**
   * The transaction of these batches failed: why, and SQLite's code for it when it has one.
   * `unconfirmed` when it may have committed all the same (an I/O error at COMMIT, the files lost
   * after it); otherwise nothing of it was recorded.
   */
  | { kind: 'failed'; batches: Array<[batch: number, submissions: number]>; message: string; code: string | null; unconfirmed: boolean }
  /** The task is done (message null), or why it is not; `count` is what it counts, when it counts anything. */
  | { kind: 'done'; task: number; message: string | null; count: number }
  /** The paths no longer name the files the writer writes (`reason`); it has written nothing since it saw. */
  | { kind: 'lost'; reason: string }
  | { kind: 'closed' };
