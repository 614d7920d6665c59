import type pg from 'pg';
import { logHead, planCommit, startCommitPlan, type CommitPlan, type CommitStart } from '../plan-commit.js';
import type { IdempotencyRecord, Submission, SubmissionOutcome } from '../storage-backend.js';
import { UnconfirmedCommitError } from '../store-unavailable.js';
import { withAnswerTimeout, writeBudgetMs, type PostgresBounds, type Queryable } from './postgres-bounds.js';
import { isRowRefusal, serverAnswered } from './postgres-failures.js';
import { insertPlannedRows } from './insert-event-rows.js';
import { catchUpBatch, readFrontier, readTreeSize } from './postgres-tree.js';
import type { Frontier } from '../../integrity/merkle-tree.js';

// BEGIN, the bounds, the lock and the savepoint in the same round trip as the head: a commit costs
// three round trips whatever its size (this, the insert, COMMIT), plus one to look up idempotency
// keys and one to record them when its submissions have any.
//
// EXCLUSIVE mode lets readers on but makes every other writer wait, in this process or any other
// instance on the database, until COMMIT. Under it the head read here is the true head, so each
// commit extends the one chain, and seq (assigned by the plan, +1 per event) is commit order.
//
// The transaction's bounds are its budget (see postgres-bounds.ts), for its statements and for the
// time the server waits on the client between them: a client that stalls holding the lock loses
// it then. SET takes no parameters; the budget is a whole number this code computed.
function lockAndReadHead(budgetMs: number): string {
  return `
  BEGIN;
  SET LOCAL statement_timeout = ${budgetMs};
  SET LOCAL idle_in_transaction_session_timeout = ${budgetMs};
  LOCK TABLE events IN EXCLUSIVE MODE;
  SAVEPOINT planned;
  SELECT seq, id, ts AS "timestampMs", hash FROM events ORDER BY seq DESC LIMIT 1`;
}
const SELECT_RECORDS = `
  SELECT i.key_name AS "keyName", i.idempotency_key AS "idempotencyKey", i.request_sha256 AS request, i.created_ms AS "createdMs",
    e.id AS "eventId", e.ts AS "timestampMs", e.seq
  FROM idempotency i JOIN events e ON e.id = i.event_id
  WHERE (i.key_name, i.idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;
// An expired record of the same key is replaced (a reuse after 24 hours stores anew).
const UPSERT_RECORDS = `
  INSERT INTO idempotency (key_name, idempotency_key, request_sha256, event_id, created_ms)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::uuid[], $5::bigint[])
  ON CONFLICT (key_name, idempotency_key) DO UPDATE
    SET request_sha256 = EXCLUDED.request_sha256, event_id = EXCLUDED.event_id, created_ms = EXCLUDED.created_ms`;

/**
 * The PostgreSQL writer: commits each commit batch in one transaction, under the table lock, so
 * that racing retries, even through two instances, store once. The rows go in with one INSERT;
 * when the database refuses one, submission by submission behind savepoints, so that the
 * submission it belongs to fails alone.
 */
export function createPostgresCommit(
  pool: pg.Pool,
  secret: Buffer,
  options: {
    bounds: PostgresBounds;
    clock(): number;
    /** Told how many events each transaction wrote, once it is durable (see transactionObserver). */
    onTransactionCommitted(events: number): void;
  },
): (submissions: readonly Submission[]) => Promise<SubmissionOutcome[]> {
  const { bounds } = options;
  // The tree's right edge after this instance's last commit: the next starts from it when the
  // head is where that commit left it (no other instance wrote since), without reading it again.
  let treeAfterLastCommit: Frontier | undefined;

  return async (submissions) => {
    const budgetMs = writeBudgetMs(bounds, textBytes(submissions));
    const client = await pool.connect();
    // Each answer is awaited for the budget and the margin at most: past that the connection is
    // taken for stalled, and destroyed below.
    const db = withAnswerTimeout(client, budgetMs + bounds.stallMarginMs);
    let plan: CommitPlan;
    let committing = false;
    try {
      const results = (await db.query(lockAndReadHead(budgetMs))) as unknown as pg.QueryResult[];
      const head = logHead(results[5]!.rows[0] as { seq: number; id: string; timestampMs: number; hash: Buffer | null } | undefined);
      let tree = treeAfterLastCommit;
      treeAfterLastCommit = undefined;
      if (tree?.size !== head.seq) tree = await treeAt(db, head.seq);
      const start: CommitStart = { head, records: await readRecords(db, submissions), now: options.clock(), secret, tree };
      plan = planCommit(start, submissions);
      try {
        await insertPlannedRows(db, plan.rows);
      } catch (error) {
        if (!isRowRefusal(error)) throw error;
        await db.query('ROLLBACK TO SAVEPOINT planned');
        plan = await insertOneByOne(db, start, submissions);
      }
      await upsertRecords(db, plan.records);
      committing = true;
      await db.query('COMMIT');
    } catch (error) {
      if (!serverAnswered(error)) {
        // No answer in time, or a broken connection: it is destroyed, not returned to the pool, and
        // the server rolls the transaction back once it sees the connection gone (or idle past the
        // budget), unless a COMMIT reached it first: then no one here can tell.
        client.release(error as Error);
        if (!committing) throw error;
        throw new UnconfirmedCommitError(`the database did not confirm the COMMIT (${(error as Error).message})`, { cause: error });
      }
      const rolledBack = await db.query('ROLLBACK').then(() => true, () => false);
      client.release(rolledBack ? undefined : (error as Error));
      throw error;
    }
    // Durable from here: nothing after COMMIT runs inside the handling of failures before it.
    client.release();
    treeAfterLastCommit = plan.tree;
    options.onTransactionCommitted(plan.rows.length);
    return plan.outcomes;
  };
}

/**
 * The tree's right edge at the head (`size` events), read under the lock. Events another writer
 * stored without leaves (an older Auditor) are given theirs here first, in this transaction.
 */
async function treeAt(db: Queryable, size: number): Promise<Frontier> {
  if ((await readTreeSize(db)) === size) return readFrontier(db, size);
  for (;;) {
    const { tree, left } = await catchUpBatch(db);
    if (left === 0) return tree;
  }
}

/** The event text of a commit batch, which its budget grows with (characters: close enough to bytes for a bound). */
function textBytes(submissions: readonly Submission[]): number {
  let total = 0;
  for (const submission of submissions) for (const event of submission) total += event.dataJson.length + event.userId.length + event.eventType.length;
  return total;
}

/** Inserts each submission apart, each behind a savepoint: one the database refuses fails alone. */
async function insertOneByOne(db: Queryable, start: CommitStart, submissions: readonly Submission[]): Promise<CommitPlan> {
  const planner = startCommitPlan(start);
  for (const submission of submissions) {
    const rows = planner.next(submission);
    if (rows.length > 0) {
      await db.query('SAVEPOINT submission');
      try {
        await insertPlannedRows(db, rows);
        await db.query('RELEASE SAVEPOINT submission');
      } catch (error) {
        if (!isRowRefusal(error)) throw error;
        await db.query('ROLLBACK TO SAVEPOINT submission');
        planner.refuse((error as Error).message);
        continue;
      }
    }
    planner.accept();
  }
  return planner.finish();
}

/** The records stored for the submissions' Idempotency-Keys, in one round trip. */
async function readRecords(db: Queryable, submissions: readonly Submission[]): Promise<IdempotencyRecord[]> {
  const keyNames: string[] = [];
  const keys: string[] = [];
  for (const submission of submissions) {
    for (const event of submission) {
      if (event.idempotencyKey === undefined) continue;
      keyNames.push(event.keyName ?? '');
      keys.push(event.idempotencyKey);
    }
  }
  if (keys.length === 0) return [];
  return (await db.query<IdempotencyRecord>(SELECT_RECORDS, [keyNames, keys])).rows;
}

/** Records the Idempotency-Keys, in one round trip (also how a copy brings them over). */
export async function upsertRecords(db: Queryable, records: readonly IdempotencyRecord[]): Promise<void> {
  if (records.length === 0) return;
  await db.query(UPSERT_RECORDS, [
    records.map((record) => record.keyName),
    records.map((record) => record.idempotencyKey),
    records.map((record) => record.request),
    records.map((record) => record.eventId),
    records.map((record) => record.createdMs),
  ]);
}
