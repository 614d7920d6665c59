/**
 * The SQLite writer, on a thread of its own: it owns the only writing connection, and commits the
 * commit batches the main thread sends. Off the main thread, the disk sync of one transaction (and
 * the WAL checkpoints SQLite runs after commits) overlap with the parsing of the next batch,
 * instead of stalling every request in the meantime.
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { NewEvent } from '../../events/event.js';
import type { Frontier } from '../../integrity/merkle-tree.js';
import { logHead, startCommitPlan, type CommitPlan, type PlannedRow } from '../plan-commit.js';
import { SINK_STATEMENTS, sinkParameters, type SinkChange } from '../sink-rows.js';
import type { IdempotencyRecord, Submission } from '../storage-backend.js';
import { lostFileMessage, lostFiles } from './database-files.js';
import { createWriteProbe, openDatabase } from './open-database.js';
import { createPayloadRemover } from './remove-payloads.js';
import { isRowRefusal } from './sqlite-failures.js';
import { createSqliteTree } from './sqlite-tree.js';
import type { EventTuple, WriterData, WriterReply, WriterRequest, WriterTask } from './writer-protocol.js';

const port = parentPort!;
const { path, chainSecret, identity } = workerData as WriterData;
const secret = Buffer.from(chainSecret);
const db = openDatabase(path);
const insert = db.prepare('INSERT INTO events (seq, id, ts, user_id, event_type, data, key_name, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
const insertLeaf = db.prepare('INSERT INTO merkle_leaves (seq, salt, hash, nodes) VALUES (?, ?, ?, ?)');
const insertCheckpoint = db.prepare('INSERT OR IGNORE INTO checkpoints (tree_size, root_hash, note, created_ms) VALUES (?, ?, ?, ?)');
const insertCosignature = db.prepare('INSERT OR IGNORE INTO cosignatures (tree_size, witness, line, cosigned_at) VALUES (?, ?, ?, ?)');
const tree = createSqliteTree(db);
/**
 * The tree's right edge after the last commit of this thread: the next commit starts from it when
 * the log's head is where that commit left it (no one else wrote since), without reading it again.
 */
let treeAfterLastCommit: Frontier | undefined;
const selectLast = db.prepare('SELECT seq, id, ts AS timestampMs, hash FROM events ORDER BY seq DESC LIMIT 1');
const selectRecord = db.prepare(
  `SELECT i.key_name AS keyName, i.idempotency_key AS idempotencyKey, i.request_sha256 AS request, i.created_ms AS createdMs,
     e.id AS eventId, e.ts AS timestampMs, e.seq
   FROM idempotency i JOIN events e ON e.id = i.event_id WHERE i.key_name = ? AND i.idempotency_key = ?`,
);
// An expired record of the same key is replaced (a reuse after 24 hours stores anew).
const upsertRecord = db.prepare(
  'INSERT OR REPLACE INTO idempotency (key_name, idempotency_key, request_sha256, event_id, created_ms) VALUES (?, ?, ?, ?, ?)',
);
const deleteRecords = db.prepare('DELETE FROM idempotency WHERE created_ms <= ?');
const beginImmediate = db.prepare('BEGIN IMMEDIATE');
const commitStatement = db.prepare('COMMIT');
const rollback = db.prepare('ROLLBACK');
const probeWrite = createWriteProbe(db);
const vacuumInto = db.prepare('VACUUM INTO ?');
const removePayloads = createPayloadRemover(db);
// A removed payload's bytes are overwritten with zeros where they lay, not merely marked free: an
// erased value must not stay readable in the file (see reclaim).
db.pragma('secure_delete = ON');

/**
 * Why the paths no longer name the files this connection writes (deleted, replaced), once seen:
 * from then on nothing is written, since nothing written could be found at the path again.
 */
let lost: string | undefined;

/** Throws once the database's paths name other files than those the store opened. */
function checkFiles(): void {
  if (lost === undefined) {
    lost = lostFiles(identity);
    if (lost !== undefined) port.postMessage({ kind: 'lost', reason: lost } satisfies WriterReply);
  }
  if (lost !== undefined) throw new Error(lostFileMessage(lost));
}

function insertRow(row: PlannedRow): void {
  insert.run(row.seq, row.id, row.timestampMs, row.userId, row.eventType, row.dataJson, row.keyName, row.hash);
  try {
    insertLeaf.run(row.seq, row.salt, row.leafHash, row.nodes);
  } catch (error) {
    // The event's row is in, and would stay without its leaf: no refusal of one row, this fails the
    // whole transaction (a leaf already there is a tree someone wrote into by hand).
    throw new Error(`the Merkle tree could not take the leaf of event ${row.seq} (${(error as Error).message}): run npm run verify`, { cause: error });
  }
}

// Nested in the commit's transaction, better-sqlite3 runs this as a SAVEPOINT: a refused row takes
// the rows of its submission before it back with it, and the rest of the transaction goes on.
const insertRows = db.transaction((rows: readonly PlannedRow[]) => {
  for (const row of rows) insertRow(row);
});

/** The records stored for the submissions' Idempotency-Keys, looked up one by one (each an index probe). */
function readRecords(submissions: readonly Submission[]): IdempotencyRecord[] {
  const records: IdempotencyRecord[] = [];
  for (const submission of submissions) {
    for (const { keyName, idempotencyKey } of submission) {
      if (idempotencyKey === undefined) continue;
      const record = selectRecord.get(keyName ?? '', idempotencyKey) as IdempotencyRecord | undefined;
      if (record !== undefined) records.push(record);
    }
  }
  return records;
}

// The head and the keys are read inside the transaction, which takes the write lock at its start
// (BEGIN IMMEDIATE): even a second process writing to the same file by mistake extends the one chain.
function planAndInsert(submissions: readonly Submission[], now: number): CommitPlan {
  const head = logHead(selectLast.get() as { seq: number; id: string; timestampMs: number; hash: Buffer | null } | undefined);
  let start = treeAfterLastCommit;
  if (start?.size !== head.seq) {
    // Someone else wrote since (an older Auditor, say): give their events leaves first, here.
    if (tree.size() !== head.seq) tree.catchUp((work) => work());
    start = tree.frontier(head.seq);
  }
  const planner = startCommitPlan({ head, records: readRecords(submissions), now, secret, tree: start });
  for (const submission of submissions) {
    const rows = planner.next(submission);
    try {
      // One row needs no savepoint: a failed statement undoes itself.
      if (rows.length === 1) insertRow(rows[0]!);
      else if (rows.length > 1) insertRows(rows);
    } catch (error) {
      // A refused row fails its submission alone; anything else fails every submission.
      if (!isRowRefusal(error) || !db.inTransaction) throw error;
      planner.refuse((error as Error).message);
      continue;
    }
    planner.accept();
  }
  const plan = planner.finish();
  for (const record of plan.records) {
    upsertRecord.run(record.keyName, record.idempotencyKey, record.request, record.eventId, record.createdMs);
  }
  checkFiles(); // last thing before COMMIT: a transaction for a lost file is rolled back, recorded nowhere
  return plan;
}

/** A transaction that failed: why, and whether it may have committed all the same. */
type TransactionFailure = { failed: unknown; unconfirmed: boolean };

/**
 * Runs the commit's transaction. Written out rather than with db.transaction, to tell a failure
 * before COMMIT (rolled back: nothing recorded) from one of COMMIT itself or after it.
 */
function commitTransaction(submissions: readonly Submission[], now: number): CommitPlan | TransactionFailure {
  let plan: CommitPlan;
  let committing = false;
  try {
    beginImmediate.run();
    plan = planAndInsert(submissions, now);
    committing = true;
    commitStatement.run();
    treeAfterLastCommit = plan.tree;
  } catch (error) {
    treeAfterLastCommit = undefined;
    if (db.inTransaction) {
      try {
        rollback.run();
      } catch {
        // Left inside the transaction: the next BEGIN fails, and says why.
      }
    }
    // An I/O error at COMMIT (a failed fsync, say) may leave the commit's frames in the WAL, which
    // the next open replays. Anything before COMMIT, or a full disk at it, leaves nothing: SQLite
    // writes a transaction to the WAL at COMMIT, and a frame it could not write is not there.
    const code = (error as { code?: unknown }).code;
    return { failed: error, unconfirmed: committing && typeof code === 'string' && code.startsWith('SQLITE_IOERR') };
  }
  try {
    // Again after COMMIT, before any answer: a file deleted during the commit took the committed
    // transaction with it (the rescue's copy holds it), so its events are answered neither 201 nor
    // "not recorded".
    checkFiles();
  } catch (error) {
    return { failed: error, unconfirmed: true };
  }
  return plan;
}

function toEvent([userId, eventType, dataJson, keyName, idempotencyKey]: EventTuple): NewEvent {
  const event: NewEvent = { userId, eventType, dataJson };
  if (keyName !== null) event.keyName = keyName;
  if (idempotencyKey !== null) event.idempotencyKey = idempotencyKey;
  return event;
}

/** Commits every batch waiting in one transaction that takes the write lock at its start, and answers them. */
function commit(requests: ReadonlyArray<WriterRequest & { kind: 'commit' }>): void {
  const batches = requests.map((request): [batch: number, submissions: number] => [request.batch, request.submissions.length]);
  const submissions = requests.flatMap((request) => request.submissions.map((tuples) => tuples.map(toEvent)));
  const result = commitTransaction(submissions, requests[requests.length - 1]!.now);
  if ('failed' in result) {
    // SQLite's code (SQLITE_FULL, …) goes along: the backend tells a full disk from a fault by it.
    const { failed, unconfirmed } = result;
    const code = (failed as { code?: unknown }).code;
    port.postMessage({ kind: 'failed', batches, message: (failed as Error).message, code: typeof code === 'string' ? code : null, unconfirmed } satisfies WriterReply);
    return;
  }
  port.postMessage({ kind: 'committed', batches, outcomes: result.outcomes, events: result.rows.length } satisfies WriterReply);
}

/**
 * Copies everything the lost file holds, through this connection (which still reads it, deleted or
 * not), to a new owner-only file at `to`: the events acknowledged so far, kept for the operator.
 */
function rescue(to: string, reason: string): void {
  lost ??= reason;
  let created = false;
  try {
    closeSync(openSync(to, 'wx', 0o600)); // VACUUM INTO fills an empty file, keeping its mode
    created = true;
    vacuumInto.run(to);
  } catch (error) {
    if (created) rmSync(to, { force: true }); // a partial copy would pass for a database
    throw error;
  }
}

/**
 * After removals: the pages they emptied go back to the file system (an incremental vacuum, on a
 * database made with auto_vacuum = INCREMENTAL, see openDatabase; an older file keeps them for
 * reuse), and the WAL, whose older frames still hold the removed payloads, is checkpointed and
 * truncated. A reader holding an old snapshot keeps the WAL from being truncated: the next reclaim
 * does it.
 */
function reclaim(): void {
  db.pragma('incremental_vacuum');
  db.pragma('wal_checkpoint(TRUNCATE)');
}

const sinkStatements = new Map<SinkChange['kind'], ReturnType<typeof db.prepare>>();
/**
 * Changes a sink's row (in a transaction of its own); how many rows changed. Not synced on its
 * own (synchronous = NORMAL: in WAL mode, durable with the next commit that is): a lost lease or
 * cursor only sends a batch again, and a sync per delivery cost commits their throughput
 * (bench/README.md, "Live streams and webhook sinks").
 */
function changeSink(change: SinkChange): number {
  let statement = sinkStatements.get(change.kind);
  if (statement === undefined) sinkStatements.set(change.kind, (statement = db.prepare(SINK_STATEMENTS[change.kind].sql)));
  db.pragma('synchronous = NORMAL');
  try {
    return statement.run(sinkParameters(change)).changes;
  } finally {
    db.pragma('synchronous = FULL');
  }
}

/** Runs `task`: null once it is done, or why it could not be, and what it counted. */
function attempt(task: WriterTask): { message: string | null; count: number } {
  let count = 0;
  try {
    switch (task.kind) {
      case 'prune':
        // After a commit, in a transaction of its own: whatever becomes of it, the events already
        // committed stay acknowledged. Nothing is written once the files are lost.
        if (lost === undefined) deleteRecords.run(task.createdUpToMs);
        break;
      case 'probe':
        checkFiles();
        probeWrite();
        break;
      case 'rescue':
        rescue(task.to, task.reason);
        break;
      case 'checkpoint':
        // Signed over the tree as committed; the same size always has the same root, so a
        // checkpoint another writer stored first is the same one.
        if (lost === undefined) insertCheckpoint.run(task.size, Buffer.from(task.rootHash), task.note, task.createdMs);
        break;
      case 'cosign':
        if (lost === undefined) db.transaction(() => {
          for (const [witness, line, cosignedAt] of task.lines) insertCosignature.run(task.size, witness, line, cosignedAt);
        })();
        break;
      case 'remove':
        checkFiles();
        if (lost === undefined) count = removePayloads(task.removal);
        break;
      case 'reclaim':
        if (lost === undefined) reclaim();
        break;
      case 'sink':
        if (lost === undefined) count = changeSink(task.change);
    }
    return { message: null, count };
  } catch (error) {
    return { message: (error as Error).message, count };
  }
}

// The files this connection opened must be those the store opened.
try {
  checkFiles();
} catch {
  // reported as lost; every commit is refused
}

port.on('message', (first: WriterRequest) => {
  // Everything the main thread sent while the last transaction ran joins this one.
  const requests: WriterRequest[] = [first];
  for (let next = receiveMessageOnPort(port); next !== undefined; next = receiveMessageOnPort(port)) {
    requests.push(next.message as WriterRequest);
  }
  const commits = requests.filter((request): request is WriterRequest & { kind: 'commit' } => request.kind === 'commit');
  if (commits.length > 0) commit(commits);
  // One probe write answers every probe that was waiting for it.
  let probe: { message: string | null; count: number } | undefined;
  for (const request of requests) {
    if (request.kind === 'commit' || request.kind === 'close') continue;
    const { message, count } = request.kind === 'probe' ? (probe ??= attempt(request)) : attempt(request);
    port.postMessage({ kind: 'done', task: request.task, message, count } satisfies WriterReply);
  }
  if (requests.some((request) => request.kind === 'close')) {
    db.close();
    port.postMessage({ kind: 'closed' } satisfies WriterReply);
    port.close();
  }
});
