/**
 * The SQLite writer, on a thread of its own: it owns the only writing connection, and commits each
 * batch the main thread sends in one transaction. Off the main thread, the disk sync of one batch
 * (and the WAL checkpoints SQLite runs after commits) overlap with the parsing of the next,
 * instead of stalling every request in the meantime.
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { createUuidV7Generator } from '../../events/uuid-v7.js';
import { chainHash, GENESIS_HASH } from '../../integrity/chain.js';
import { lostFileMessage, lostFiles } from './database-files.js';
import { createWriteProbe, openDatabase } from './open-database.js';
import { IDEMPOTENCY_WINDOW_MS, idempotencyRequestDigest } from '../idempotency.js';
import {
  IDEMPOTENCY_CONFLICT,
  type EventGroup,
  type EventTuple,
  type GroupOutcome,
  type InsertOutcome,
  type WriterData,
  type WriterReply,
  type WriterRequest,
} from './writer-protocol.js';

const port = parentPort!;
const { path, chainSecret, pruneEveryCommits, identity } = workerData as WriterData;
const secret = chainSecret === null ? undefined : Buffer.from(chainSecret);
const db = openDatabase(path);
const insert = db.prepare('INSERT INTO events (id, ts, user_id, event_type, data, key_name, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
const nextId = createUuidV7Generator();
const selectHead = db.prepare('SELECT hash FROM events WHERE hash IS NOT NULL ORDER BY seq DESC LIMIT 1').pluck();
const selectIdempotent = db.prepare(
  `SELECT i.request_sha256 AS request, e.id, e.ts, e.seq FROM idempotency i JOIN events e ON e.id = i.event_id
   WHERE i.key_name = ? AND i.idempotency_key = ? AND i.created_ms > ?`,
);
const upsertIdempotent = db.prepare(
  'INSERT OR REPLACE INTO idempotency (key_name, idempotency_key, request_sha256, event_id, created_ms) VALUES (?, ?, ?, ?, ?)',
);
const pruneIdempotent = db.prepare('DELETE FROM idempotency WHERE created_ms <= ?');
const probeWrite = createWriteProbe(db);
const vacuumInto = db.prepare('VACUUM INTO ?');
let commitsSincePrune = 0;

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

// Ids, timestamps and chain hashes are assigned inside the transaction, in commit order. The head
// is read inside it too, under the write lock (see commit), so even a second process writing to
// the same file by mistake would extend the chain rather than fork it.
type Chain = { head: Buffer; now: number };

/** Inserts one event, or says why it was not: an idempotent replay, a conflict, a failed statement. */
function insertOne([userId, eventType, dataJson, keyName, idempotencyKey]: EventTuple, chain: Chain): InsertOutcome {
  // Looked up inside the transaction, so concurrent retries (even in this very batch) find the
  // first one's row and never store the event twice.
  let digest: Buffer | undefined;
  if (idempotencyKey !== null) {
    digest = idempotencyRequestDigest({ userId, eventType, dataJson });
    const seen = selectIdempotent.get(keyName ?? '', idempotencyKey, chain.now - IDEMPOTENCY_WINDOW_MS) as
      | { request: Buffer; id: string; ts: number; seq: number }
      | undefined;
    if (seen !== undefined) return seen.request.equals(digest) ? [seen.id, seen.ts, seen.seq, true] : IDEMPOTENCY_CONFLICT;
  }
  const { id, timestampMs } = nextId();
  const hash = secret === undefined ? null : chainHash(secret, chain.head, { id, timestampMs, userId, eventType, dataJson, keyName });
  try {
    const { lastInsertRowid } = insert.run(id, timestampMs, userId, eventType, dataJson, keyName, hash);
    if (hash !== null) chain.head = hash;
    if (digest !== undefined) upsertIdempotent.run(keyName ?? '', idempotencyKey, digest, id, chain.now);
    return [id, timestampMs, Number(lastInsertRowid), false];
  } catch (error) {
    // A failed statement rolls back alone and the batch goes on, unless SQLite had to abandon
    // the whole transaction (I/O error, disk full): then every event of the batch must fail.
    if (!db.inTransaction) throw error;
    return (error as Error).message;
  }
}

class GroupRefused extends Error {}

// Nested in insertAll, better-sqlite3 runs this as a SAVEPOINT: a group that throws is undone
// alone, and the rest of the transaction goes on.
const insertGroup = db.transaction((group: EventGroup, chain: Chain): InsertOutcome[] => {
  const outcomes = group.map((event) => insertOne(event, chain));
  const failure = outcomes.find((outcome): outcome is string => typeof outcome === 'string');
  if (failure !== undefined) throw new GroupRefused(failure);
  return outcomes;
});

const insertAll = db.transaction((groups: EventGroup[]): GroupOutcome[] => {
  const chain: Chain = {
    head: secret === undefined ? GENESIS_HASH : ((selectHead.get() as Buffer | undefined) ?? GENESIS_HASH),
    now: Date.now(),
  };
  const outcomes = groups.map((group): GroupOutcome => {
    if (group.length === 1) return [insertOne(group[0]!, chain)];
    const headBefore = chain.head;
    try {
      return insertGroup(group, chain);
    } catch (error) {
      if (!(error instanceof GroupRefused) && !db.inTransaction) throw error;
      chain.head = headBefore; // the savepoint took the group's links back
      return (error as Error).message;
    }
  });
  checkFiles(); // last thing before COMMIT: a batch for a lost file is rolled back, recorded nowhere
  return outcomes;
});

/** Commits the batches in one transaction that takes the write lock at its start, and answers each. */
function commit(batches: Array<WriterRequest & { kind: 'commit' }>): void {
  const groups = batches.length === 1 ? batches[0]!.groups : batches.flatMap((batch) => batch.groups);
  let outcomes: GroupOutcome[];
  try {
    outcomes = insertAll.immediate(groups);
    // Again after COMMIT, before any answer: a file deleted during the commit took the batch
    // with it, and its events are answered 503, never 201.
    checkFiles();
  } catch (error) {
    // SQLite's code (SQLITE_FULL, …) goes along: the store tells a full disk from a fault by it.
    const code = (error as { code?: unknown }).code;
    for (const batch of batches) {
      port.postMessage({ kind: 'failed', batch: batch.batch, message: (error as Error).message, code: typeof code === 'string' ? code : null } satisfies WriterReply);
    }
    return;
  }
  let offset = 0;
  for (const batch of batches) {
    port.postMessage({ kind: 'committed', batch: batch.batch, outcomes: outcomes.slice(offset, offset + batch.groups.length) } satisfies WriterReply);
    offset += batch.groups.length;
  }
  pruneIfDue();
}

/**
 * Deletes expired idempotency keys (a later reuse of one stores anew), every so many commits. It
 * runs after the answers are sent, in a transaction of its own: whatever becomes of it, the
 * events already committed stay acknowledged. A failure is only reported, to be logged.
 */
function pruneIfDue(): void {
  if (++commitsSincePrune < pruneEveryCommits || lost !== undefined) return;
  commitsSincePrune = 0;
  try {
    pruneIdempotent.run(Date.now() - IDEMPOTENCY_WINDOW_MS);
  } catch (error) {
    port.postMessage({ kind: 'prune-failed', message: (error as Error).message } satisfies WriterReply);
  }
}

/** One probe write answers every probe that was waiting for it. */
function probe(probes: Array<WriterRequest & { kind: 'probe' }>): void {
  let message: string | null = null;
  try {
    checkFiles();
    probeWrite();
  } catch (error) {
    message = (error as Error).message;
  }
  for (const { probe } of probes) port.postMessage({ kind: 'probed', probe, message } satisfies WriterReply);
}

/**
 * Copies everything the lost file holds, through this connection (which still reads it, deleted or
 * not), to a new owner-only file at `to`: the events acknowledged so far, kept for the operator.
 */
function rescue(to: string, reason: string): void {
  lost ??= reason;
  let message: string | null = null;
  let created = false;
  try {
    closeSync(openSync(to, 'wx', 0o600)); // VACUUM INTO fills an empty file, keeping its mode
    created = true;
    vacuumInto.run(to);
  } catch (error) {
    message = (error as Error).message;
    if (created) rmSync(to, { force: true }); // a partial copy would pass for a database
  }
  port.postMessage({ kind: 'rescued', to, message } satisfies WriterReply);
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
  const batches = requests.filter((request): request is WriterRequest & { kind: 'commit' } => request.kind === 'commit');
  const probes = requests.filter((request): request is WriterRequest & { kind: 'probe' } => request.kind === 'probe');
  const closing = requests.some((request) => request.kind === 'close');
  if (batches.length > 0) commit(batches);
  if (probes.length > 0) probe(probes);
  for (const request of requests) if (request.kind === 'rescue') rescue(request.to, request.reason);
  if (closing) {
    db.close();
    port.postMessage({ kind: 'closed' } satisfies WriterReply);
    port.close();
  }
});
