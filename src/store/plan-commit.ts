/**
 * The write rules, once, for both backends: which events of a commit are stored and which are
 * answered from an Idempotency-Key, each stored event's id, timestamp, seq and chain link, and
 * which submissions are refused whole. Pure: no database, no I/O. A backend reads the head and the
 * Idempotency-Keys inside its transaction, under its write lock, runs the plan there, and inserts
 * what it says; so racing writers, even two processes, extend one chain and store a key once.
 */
import { createUuidV7Generator, type TimeOrderedId } from '../events/uuid-v7.js';
import { chainHashOverLeaf, GENESIS_HASH } from '../integrity/chain.js';
import { eventLeafHash, newSalt } from '../integrity/event-leaf.js';
import { growFrontier, type Frontier } from '../integrity/merkle-tree.js';
import type { ChainRow } from '../integrity/verify-chain.js';
import { IDEMPOTENCY_WINDOW_MS, idempotencyRequestDigest } from './idempotency.js';
import type { IdempotencyRecord, Placement, Submission, SubmissionOutcome } from './storage-backend.js';

/** Where the log ends: what the next event follows. */
export type LogHead = {
  /** The last event's seq; 0 in an empty log. */
  seq: number;
  /** The last event's id and timestamp (none in an empty log): the next ones sort after them. */
  last: TimeOrderedId | undefined;
  /** The last event's chain hash; GENESIS_HASH before the first. */
  hash: Buffer;
};

/** The head after `last`, the log's last event as a backend reads it (undefined in an empty log). */
export function logHead(last: { seq: number; id: string; timestampMs: number; hash: Buffer | null } | undefined): LogHead {
  if (last === undefined) return { seq: 0, last: undefined, hash: GENESIS_HASH };
  // Only events from before the chain began have no hash: the chain begins after them.
  return { seq: last.seq, last: { id: last.id, timestampMs: last.timestampMs }, hash: last.hash ?? GENESIS_HASH };
}

/** What a commit is planned from, all of it read inside the commit's transaction. */
export type CommitStart = {
  head: LogHead;
  /**
   * The records stored for the Idempotency-Keys of the commit's submissions, whatever their age:
   * those older than IDEMPOTENCY_WINDOW_MS are set aside here, and the key stores anew.
   */
  records: Iterable<IdempotencyRecord>;
  /** The commit's time by the service's clock. Timestamps never go behind the head's, whatever it says. */
  now: number;
  /** Keys the chain. */
  secret: Buffer;
  /** The Merkle tree's right edge after the head: it holds exactly head.seq leaves. */
  tree: Frontier;
  /** Where each event's salt comes from (random; tests fix it). */
  salt?: () => Buffer;
};

/**
 * A row to insert: an event with everything assigned, and its link (over its leaf: see
 * chainHashOverLeaf); and its leaf in the Merkle tree: the salt its data is committed to under, the
 * leaf's hash, and the hashes of the subtrees it completes (level 1 upwards, 32 bytes each; see
 * appendLeaf).
 */
export type PlannedRow = ChainRow & { hash: Buffer; salt: Buffer; leafHash: Buffer; nodes: Buffer };

/** A commit, planned: what to insert, what to record, and what to answer. */
export type CommitPlan = {
  /** Every row to insert, in seq order. */
  rows: PlannedRow[];
  /** The Idempotency-Keys to record (replacing any expired record of the same key). */
  records: IdempotencyRecord[];
  /** One per submission, in order. */
  outcomes: SubmissionOutcome[];
  /** The tree's right edge after the rows. */
  tree: Frontier;
};

/**
 * Plans a commit one submission at a time, so that a backend can insert each behind a savepoint
 * and keep the rest when the database refuses one: `next`, then `accept` or `refuse`, for each
 * submission in order; then `finish`.
 */
export type CommitPlanner = {
  /**
   * Plans the next submission after those accepted so far, and returns its rows to insert: none
   * when each of its events replays a stored one, or when an Idempotency-Key of it conflicts
   * (which is then its outcome). `accept` or `refuse` it before the next.
   */
  next(submission: Submission): readonly PlannedRow[];
  /** The database took the rows `next` returned (or there were none). */
  accept(): void;
  /** The database refused one of them, for `reason`: nothing of the submission is kept. */
  refuse(reason: string): void;
  finish(): CommitPlan;
};

type Planned = { rows: PlannedRow[]; records: Map<string, IdempotencyRecord>; outcome: SubmissionOutcome; seq: number; hash: Buffer; tree: Frontier };

const CONFLICT: SubmissionOutcome = { kind: 'conflict' };
/** What a leaf at an even index completes: nothing (shared; never written to). */
const NO_NODES = Buffer.alloc(0);

export function startCommitPlan({ head, records, now, secret, tree: startTree, salt = newSalt }: CommitStart): CommitPlanner {
  if (startTree.size !== head.seq) throw new Error(`the Merkle tree holds ${startTree.size} leaves, but the log ${head.seq} events`);
  // The clock of the whole commit is `now`; the generator takes the head's millisecond when the
  // clock is behind it, and counts on from the head's id, so (timestamp, seq) order is id order
  // is commit order, whatever the clocks of this and other instances say.
  const nextId = createUuidV7Generator(() => now, head.last);
  const expiredUpTo = now - IDEMPOTENCY_WINDOW_MS;
  const stored = new Map<string, IdempotencyRecord>();
  for (const record of records) if (record.createdMs > expiredUpTo) stored.set(lookup(record.keyName, record.idempotencyKey), record);
  const added = new Map<string, IdempotencyRecord>();
  const rows: PlannedRow[] = [];
  const outcomes: SubmissionOutcome[] = [];
  let { seq, hash } = head;
  let tree = startTree;
  let pending: Planned | undefined;

  const plan = (submission: Submission): Planned => {
    // Conflict until every event is planned; seq and hash move on from the head of those accepted.
    // A copy of the tree's edge of its own, grown in place: one array per submission, not per event.
    const planned: Planned = { rows: [], records: new Map(), outcome: CONFLICT, seq, hash, tree: { size: tree.size, hashes: tree.hashes.slice() } };
    const placements: Placement[] = [];
    for (const event of submission) {
      const keyName = event.keyName ?? null;
      let request: Buffer | undefined;
      if (event.idempotencyKey !== undefined) {
        request = idempotencyRequestDigest(event);
        const key = lookup(keyName ?? '', event.idempotencyKey);
        // Earlier in this submission, in this commit, or stored before it.
        const earlier = planned.records.get(key) ?? added.get(key) ?? stored.get(key);
        if (earlier !== undefined) {
          if (!earlier.request.equals(request)) return { rows: [], records: new Map(), outcome: CONFLICT, seq, hash, tree };
          placements.push([earlier.eventId, earlier.timestampMs, earlier.seq, true]);
          continue;
        }
      }
      const { id, timestampMs } = nextId();
      // Every member there from the start, in one order: rows are made a thousand times a commit,
      // and a row spread from another object measured slower (bench/chain-cost.ts).
      const row: PlannedRow = {
        id, timestampMs, userId: event.userId, eventType: event.eventType, dataJson: event.dataJson, keyName,
        seq: ++planned.seq, hash: planned.hash, salt: salt(), leafHash: planned.hash, nodes: NO_NODES,
      };
      row.leafHash = eventLeafHash(row, row.salt);
      row.hash = planned.hash = chainHashOverLeaf(secret, planned.hash, row.leafHash);
      const completed = growFrontier(planned.tree, row.leafHash);
      if (completed.length > 0) row.nodes = completed.length === 1 ? completed[0]! : Buffer.concat(completed);
      planned.rows.push(row);
      if (request !== undefined) {
        const record = { keyName: keyName ?? '', idempotencyKey: event.idempotencyKey!, request, eventId: id, timestampMs, seq: row.seq, createdMs: now };
        planned.records.set(lookup(record.keyName, record.idempotencyKey), record);
      }
      placements.push([id, timestampMs, row.seq, false]);
    }
    planned.outcome = { kind: 'stored', placements };
    return planned;
  };

  const settle = (): Planned => {
    if (pending === undefined) throw new Error('no submission is planned: call next() first');
    const planned = pending;
    pending = undefined;
    return planned;
  };

  return {
    next(submission) {
      if (pending !== undefined) throw new Error('the submission planned last is neither accepted nor refused');
      pending = plan(submission);
      return pending.rows;
    },
    accept() {
      const planned = settle();
      outcomes.push(planned.outcome);
      for (const row of planned.rows) rows.push(row); // a submission may hold more rows than a call takes arguments
      for (const [key, record] of planned.records) added.set(key, record);
      ({ seq, hash, tree } = planned);
    },
    refuse(reason) {
      settle();
      outcomes.push({ kind: 'refused', reason });
    },
    finish() {
      if (pending !== undefined) throw new Error('the submission planned last is neither accepted nor refused');
      return { rows, records: [...added.values()], outcomes, tree };
    },
  };
}

/** The plan of a commit in which the database takes every row. */
export function planCommit(start: CommitStart, submissions: readonly Submission[]): CommitPlan {
  const planner = startCommitPlan(start);
  for (const submission of submissions) {
    planner.next(submission);
    planner.accept();
  }
  return planner.finish();
}

function lookup(keyName: string, idempotencyKey: string): string {
  return `${keyName}\n${idempotencyKey}`; // neither may hold a line break
}
