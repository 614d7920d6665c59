import type { EventQuery, NewEvent, Removal, StoredEvent } from '../events/event.js';
import { GENESIS_HASH } from '../integrity/chain.js';
import { signCheckpoint, type ChainHead, type Checkpoint } from '../integrity/checkpoint.js';
import { eventLeaf } from '../integrity/event-leaf.js';
import { leafHash, proveConsistency, proveInclusion } from '../integrity/merkle-tree.js';
import { silentLogger } from '../ops/logger.js';
import { pseudonymOf } from '../retention/pseudonym.js';
import { startCheckpointSigner } from './checkpoint-signer.js';
import { createClockBehindLog } from './clock-behind-log.js';
import { TreeSizeError, type EventStore, type StoreOptions } from './event-store.js';
import { createGroupCommit, type BatchOutcome } from './group-commit.js';
import { IDEMPOTENCY_WINDOW_MS, IdempotencyConflictError, PRUNE_EVERY_COMMITS } from './idempotency.js';
import { readInChunks, toStoredEvent, type ReadChunk } from './read-in-chunks.js';
import type { StorageBackend, Submission, SubmissionOutcome } from './storage-backend.js';
import { createStoreFailures } from './store-unavailable.js';
import { TooManyGroupsError } from './summary-groups.js';
import { createWriteReadiness } from './write-readiness.js';
import { encodeLeaf } from '../../verifier/leaf.js';

/**
 * Most events in one commit batch: bounds how long one transaction takes (and, on PostgreSQL,
 * holds the table lock; the SQLite writer may join up to its maxBatchesInFlight batches in one). A
 * submission larger than this is committed alone, never split. Not the POST batch cap
 * (parse-event-batch.ts), though both are 1000 today.
 */
const MAX_COMMIT_BATCH_EVENTS = 1000;
/** How long readiness waits for the database before calling it down. */
const READY_TIMEOUT_MS = 1000;

const PRUNE_FAILED = 'pruning expired idempotency keys failed; no answer changed, it is tried again later';
const STORE_CLOSED = 'the store is closed';

/** A write submitted after close(): refused for a reason the store gives, as a condition, not a fault. */
class StoreClosedError extends Error {}

/**
 * A backend that answered a committed transaction with the wrong number of outcomes: a fault of
 * ours, which no StoreUnavailableError may hide. Its events are committed, so it must not be
 * answered "not recorded"; it is a 500, logged with its stack.
 */
class OutcomeCountError extends Error {}

/**
 * The EventStore on a backend: the half that is the same whichever database sits below. Writes go
 * through group commit to the backend, which plans each commit with planCommit; reads go by
 * chunks; every failure of the backend becomes a StoreUnavailableError here, and nowhere else.
 */
export function createEventStore(backend: StorageBackend, options: StoreOptions = {}): EventStore {
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? Date.now;
  const pruneEveryCommits = options.pruneEveryCommits ?? PRUNE_EVERY_COMMITS;
  const failures = createStoreFailures(log, (error) => (error instanceof StoreClosedError ? STORE_CLOSED : backend.recogniseFailure(error)));
  const readiness = createWriteReadiness(() => backend.probeWrite());
  const clockBehind = createClockBehindLog(log, options.onClockBehindLog ?? (() => {}));
  const signer = startCheckpointSigner(backend, { intervalMs: options.checkpointIntervalMs ?? 1000, clock, log, onCheckpoint: options.onCheckpoint ?? (() => {}) });
  let commitsSincePrune = 0;
  let pruning: Promise<void> = Promise.resolve();
  let closed = false;

  // Expired keys go after a commit has answered, apart from it: their failure is logged, and can
  // change neither the commit nor its answers.
  const pruneIfDue = (): void => {
    if (++commitsSincePrune < pruneEveryCommits) return;
    commitsSincePrune = 0;
    pruning = backend.prune(clock() - IDEMPOTENCY_WINDOW_MS).catch((error: unknown) => {
      log.error({ msg: PRUNE_FAILED, error: error instanceof Error ? error.message : String(error) });
    });
  };

  // Readiness records what the backend's commit did, and only that.
  const commitDurably = readiness.track((submissions: readonly Submission[]) => backend.commit(submissions));
  const commit = async (submissions: readonly Submission[]): Promise<Array<BatchOutcome<StoredEvent[]>>> => {
    const outcomes = await commitDurably(submissions);
    // Committed and durable from here: nothing below may answer "not recorded".
    if (outcomes.length !== submissions.length) throw new OutcomeCountError(`the backend answered ${outcomes.length} submissions of ${submissions.length}`);
    pruneIfDue();
    const newest = newestStamped(outcomes);
    if (newest !== undefined) clockBehind(newest, clock());
    return outcomes.map((outcome, i) => settle(submissions[i]!, outcome));
  };
  const groupCommit = createGroupCommit(commit, {
    maxBatch: MAX_COMMIT_BATCH_EVENTS,
    maxInFlight: backend.maxBatchesInFlight,
    weight: (submission) => submission.length,
  });

  /** `run` as it is, but failing with the StoreUnavailableError its failure is. */
  const refusing = async <T>(operation: 'write' | 'read', run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      // An answer, not a failure; and a fault of ours after a commit, which is no refusal.
      if (error instanceof IdempotencyConflictError || error instanceof OutcomeCountError || error instanceof TreeSizeError || error instanceof TooManyGroupsError) throw error;
      throw failures.refused(error, operation);
    }
  };
  const submit = (submission: Submission): Promise<StoredEvent[]> =>
    refusing('write', () => (closed ? Promise.reject(new StoreClosedError(STORE_CLOSED)) : groupCommit.submit(submission)));

  return {
    append: async (event) => (await submit([event]))[0]!,
    appendAll: submit,

    query(query: EventQuery): AsyncIterable<readonly StoredEvent[]> {
      let read: ReadChunk | undefined;
      return readInChunks(query, (afterTs, afterSeq, limit, maxSize) =>
        refusing('read', async () => (read ??= backend.readChunks(query))(afterTs, afterSeq, limit, maxSize)));
    },

    summarize: (query, groupBy) => refusing('read', () => backend.summarize(query, groupBy)),

    async get(id) {
      const row = await refusing('read', () => backend.get(id));
      return row === undefined ? undefined : toStoredEvent(row);
    },

    async checkpoint(): Promise<Checkpoint> {
      const extent = await refusing('read', () => backend.chainExtent());
      // seq has no gaps (each commit assigns it under the write lock), so the count is a difference.
      const head: ChainHead = extent === undefined
        ? { eventCount: 0, lastId: null, headHash: GENESIS_HASH.toString('hex') }
        : { eventCount: extent.lastSeq - extent.firstSeq + 1, lastId: extent.lastId, headHash: extent.lastHash.toString('hex') };
      return signCheckpoint(backend.chainSecret, head);
    },

    verifierKey: backend.signingKey.verifierKey,

    signedCheckpoint: (size) => refusing('read', async () => (size === undefined ? (await backend.checkpoint()) ?? (await signer.covering(0)) : backend.checkpoint(size))),

    inclusionProof: (id, size) =>
      refusing('read', async () => {
        const source = await backend.leafSource(id);
        if (source === undefined) return undefined;
        const leafIndex = source.seq - 1;
        // No leaf: a row put in by hand (a seq before the first, or with no leaf row), which no proof can cover.
        const removed = source.removedBy != null;
        if ((source.salt === null && !removed) || source.leafHash === null || leafIndex < 0) {
          throw new TreeSizeError(`the event (seq ${source.seq}) is not a leaf of the log's tree: run npm run verify`);
        }
        const treeSize = size ?? (await signer.covering(source.seq)).size;
        const grown = await backend.treeSize();
        if (treeSize > grown) throw new TreeSizeError(`size ${treeSize} is beyond the tree, which holds ${grown} events`);
        if (leafIndex >= treeSize) throw new TreeSizeError(`the event is leaf ${leafIndex}, not in the tree of ${treeSize} (the tree holds ${grown}): ask for a size above ${leafIndex}`);
        const path = await proveInclusion(leafIndex, treeSize, backend.subtrees);
        const leaf = !removed ? eventLeaf(source, source.salt!) : source.dataSha256 === null ? null : encodeLeaf({ ...source, dataSha256: source.dataSha256 });
        const proof = { leafIndex, treeSize, leaf, leafHash: leaf === null ? source.leafHash : leafHash(leaf), salt: removed ? null : source.salt, path };
        // The removal as the event shows it, so that the proof alone says why its data is gone.
        return removed ? { ...proof, removed: { reason: source.removal as Removal['reason'], atMs: Number(source.removedMs), by: source.removedBy! } } : proof;
      }),

    consistencyProof: (from, to) =>
      refusing('read', async () => {
        const grown = await backend.treeSize();
        if (to > grown) throw new TreeSizeError(`to=${to} is beyond the tree, which holds ${grown} events`);
        if (from > to) throw new TreeSizeError(`from=${from} is larger than to=${to} (the tree holds ${grown} events)`);
        return proveConsistency(from, to, backend.subtrees);
      }),

    saveCosignatures: (size, lines) => refusing('write', () => backend.saveCosignatures(size, lines)),

    removals: {
      removePayloads: (removal) => refusing('write', () => backend.removePayloads(removal)),
      reclaimSpace: () => refusing('write', () => backend.reclaimSpace()),
      nextTypeWithPayload: (after) => refusing('read', () => backend.nextTypeWithPayload(after)),
      payloadsRecordedBefore: (...args) => refusing('read', () => backend.payloadsRecordedBefore(...args)),
      pseudonymOf: (subject) => pseudonymOf(backend.chainSecret, subject),
    },

    sinks: {
      list: () => refusing('read', () => backend.sinks()),
      change: (change) => refusing('write', () => backend.changeSink(change)),
    },

    sizeBytes: () => refusing('read', () => backend.sizeBytes()),

    async isReady(): Promise<boolean> {
      if (closed) return false;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
      });
      // Answering is not enough (a standby answers too, and so does a full disk): then the writes'
      // own record, or a probe write after one failed (see createWriteReadiness).
      const answered = backend.answers(READY_TIMEOUT_MS).then((answers) => answers && readiness.canWrite(), () => false);
      try {
        return await Promise.race([answered, timedOut]);
      } finally {
        clearTimeout(timer);
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await groupCommit.drain(); // what was submitted before is committed first
      await pruning;
      await signer.stop(); // the tree as left, signed
      await backend.close();
      failures.close();
    },
  };
}

/** The latest timestamp a commit stamped (replays are of earlier commits), if it stored any event. */
function newestStamped(outcomes: readonly SubmissionOutcome[]): number | undefined {
  let newest: number | undefined;
  for (const outcome of outcomes) {
    if (outcome.kind !== 'stored') continue;
    for (const [, timestampMs, , replayed] of outcome.placements) if (!replayed && (newest === undefined || timestampMs > newest)) newest = timestampMs;
  }
  return newest;
}

/** A submission's answer from its outcome: the events as stored, or why none was. */
function settle(submission: Submission, outcome: SubmissionOutcome): BatchOutcome<StoredEvent[]> {
  switch (outcome.kind) {
    case 'stored':
      return { ok: true, value: submission.map((event, i) => storedEvent(event, outcome.placements[i]!)) };
    case 'conflict':
      return { ok: false, error: new IdempotencyConflictError('the Idempotency-Key was used for a different event') };
    case 'refused':
      return { ok: false, error: new Error(outcome.reason) };
  }
}

function storedEvent({ userId, eventType, dataJson }: NewEvent, [id, timestampMs, seq, replayed]: readonly [string, number, number, boolean]): StoredEvent {
  return replayed ? { id, timestampMs, seq, userId, eventType, dataJson, replayed } : { id, timestampMs, seq, userId, eventType, dataJson };
}
