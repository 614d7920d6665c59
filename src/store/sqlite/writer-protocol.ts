/** Messages between the SQLite store and its writer thread. */
import type { FileIdentity } from './database-files.js';

/** What the writer thread is started with. */
export type WriterData = {
  path: string;
  /** Null only for the benchmark's unchained comparison. */
  chainSecret: Uint8Array | null;
  /** Commits between two prunings of expired idempotency keys. */
  pruneEveryCommits: number;
  /** The files the store opened: the writer writes nothing once the paths name others. */
  identity: FileIdentity;
};

/** One event to insert. Tuples clone faster than objects. */
export type EventTuple = [userId: string, eventType: string, dataJson: string, keyName: string | null, idempotencyKey: string | null];

/** Events that are stored together or not at all (one POST /events/batch), or a single event. */
export type EventGroup = EventTuple[];

export type WriterRequest =
  | { kind: 'commit'; batch: number; groups: EventGroup[] }
  /** Write the probe row (see createWriteProbe), to learn whether a write can succeed now. */
  | { kind: 'probe'; probe: number }
  /** The database's files are lost (`reason`): write nothing more, and copy what the open file holds to `to`. */
  | { kind: 'rescue'; to: string; reason: string }
  | { kind: 'close' };

/**
 * Per event: [id, timestampMs, seq, replayed] when stored (or found stored under its idempotency
 * key), IDEMPOTENCY_CONFLICT when its key was used with another body, or the message of the error
 * that kept it out.
 */
export type InsertOutcome = [id: string, timestampMs: number, seq: number, replayed: boolean] | string;

export const IDEMPOTENCY_CONFLICT = 'idempotency-conflict';

/** Per group: each event's outcome, or the one message that kept the whole group out. */
export type GroupOutcome = InsertOutcome[] | string;

export type WriterReply =
  | { kind: 'committed'; batch: number; outcomes: GroupOutcome[] }
  /** The batch's transaction did not commit: why, and SQLite's code for it when it has one. */
  | { kind: 'failed'; batch: number; message: string; code: string | null }
  /** The probe's write committed (message null), or why it did not. */
  | { kind: 'probed'; probe: number; message: string | null }
  /** The paths no longer name the files the writer writes (`reason`); it has written nothing since it saw. */
  | { kind: 'lost'; reason: string }
  /** The copy asked for by `rescue` is complete (message null), or why it is not. */
  | { kind: 'rescued'; to: string; message: string | null }
  | { kind: 'closed' }
  /** Expired idempotency keys could not be deleted; nothing else changes (for the log). */
  | { kind: 'prune-failed'; message: string };
