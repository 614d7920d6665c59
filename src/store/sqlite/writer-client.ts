import { Worker } from 'node:worker_threads';
import type { NewCheckpoint, StorageBackend, Submission, SubmissionOutcome } from '../storage-backend.js';
import { UnconfirmedCommitError } from '../store-unavailable.js';
import type { FileIdentity } from './database-files.js';
import type { WriterData, WriterReply, WriterRequest, WriterTask } from './writer-protocol.js';

export type SqliteWriter = {
  /** Commits the batch's submissions on the writer thread, planned at `now` (see StorageBackend.commit). */
  commit(submissions: readonly Submission[], now: number): Promise<SubmissionOutcome[]>;
  /** Deletes the Idempotency-Keys recorded at or before `createdUpToMs`; rejects with why it could not. */
  prune(createdUpToMs: number): Promise<void>;
  /** Resolves once the writer has committed a write to the probe row; rejects with why it could not. */
  probe(): Promise<void>;
  /**
   * Tells the writer its files are lost (`reason`), so it writes nothing more, and has it copy what
   * the open file holds to a new file at `to`. Resolves once the copy is complete.
   */
  rescue(to: string, reason: string): Promise<void>;
  saveCheckpoint(checkpoint: NewCheckpoint): Promise<void>;
  saveCosignatures: StorageBackend['saveCosignatures'];
  removePayloads: StorageBackend['removePayloads'];
  changeSink: StorageBackend['changeSink'];
  reclaimSpace: StorageBackend['reclaimSpace'];
  /** False once the writer thread has failed or stopped: nothing could be stored. */
  isAlive(): boolean;
  /** Lets the writer finish and close its connection. */
  close(): Promise<void>;
};

type Waiting = { submissions: number; resolve(outcomes: SubmissionOutcome[]): void; reject(error: Error): void };

/**
 * Starts the writer thread for the SQLite file at `path` (whose schema must already exist), which
 * chains every event it writes with `chainSecret`.
 */
export function startSqliteWriter(
  path: string,
  chainSecret: Buffer,
  options: {
    identity: FileIdentity;
    /** The writer found that the paths no longer name the files it writes. */
    onLost(reason: string): void;
    /** Told how many events each transaction wrote, after its batches are answered (see transactionObserver). */
    onTransactionCommitted(events: number): void;
  },
): SqliteWriter {
  const workerData: WriterData = { path, chainSecret: new Uint8Array(chainSecret), identity: options.identity };
  const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData });
  const waiting = new Map<number, Waiting>();
  const tasks = new Map<number, { resolve(count: number): void; reject(error: Error): void }>();
  let nextBatch = 0;
  let nextTask = 0;
  let broken: Error | undefined;
  let closing = false;

  /**
   * The thread failed or ended (`error`): every task fails, and so does every batch sent to it and
   * not answered, as of unknown outcome, since nobody here can tell whether its COMMIT ran.
   */
  const stopped = (error: Error): void => {
    broken ??= error;
    for (const entry of waiting.values()) {
      entry.reject(new UnconfirmedCommitError(`${error.message}, with a commit sent to it and not answered`, { cause: error }));
    }
    for (const task of tasks.values()) task.reject(error);
    waiting.clear();
    tasks.clear();
  };

  /** The batches a reply answers, each taken out of those waiting, with its share of the outcomes. */
  const answered = (batches: ReadonlyArray<readonly [batch: number, submissions: number]>): Array<[Waiting, start: number, end: number]> => {
    const entries: Array<[Waiting, number, number]> = [];
    let offset = 0;
    for (const [batch, submissions] of batches) {
      const entry = waiting.get(batch);
      waiting.delete(batch);
      if (entry !== undefined) entries.push([entry, offset, offset + submissions]);
      offset += submissions;
    }
    return entries;
  };

  worker.on('message', (reply: WriterReply) => {
    switch (reply.kind) {
      case 'committed': {
        for (const [entry, start, end] of answered(reply.batches)) entry.resolve(reply.outcomes.slice(start, end));
        options.onTransactionCommitted(reply.events);
        return;
      }
      case 'failed': {
        const error: Error & { code?: string } = reply.unconfirmed
          ? new UnconfirmedCommitError(reply.code === null ? reply.message : `${reply.message} (${reply.code})`)
          : new Error(reply.message);
        if (reply.code !== null) error.code = reply.code;
        for (const [entry] of answered(reply.batches)) entry.reject(error);
        return;
      }
      case 'done': {
        const task = tasks.get(reply.task);
        tasks.delete(reply.task);
        if (reply.message === null) task?.resolve(reply.count);
        else task?.reject(new Error(reply.message));
        return;
      }
      case 'lost':
        options.onLost(reply.reason);
        return;
      case 'closed':
    }
  });
  worker.on('error', (error) => stopped(error));
  // On every exit, closing or not: a close is answered after every batch sent before it, so none
  // should be left then; one that is fails rather than waits for ever.
  worker.on('exit', (code) => stopped(new Error(`the SQLite writer thread stopped (exit code ${code})`)));

  const send = (request: WriterRequest): void => worker.postMessage(request);
  const run = (task: WriterTask): Promise<number> => {
    if (broken !== undefined) return Promise.reject(broken);
    if (closing) return Promise.reject(new Error('the SQLite writer is closing'));
    return new Promise((resolve, reject) => {
      const id = nextTask++;
      tasks.set(id, { resolve, reject });
      send({ ...task, task: id });
    });
  };

  return {
    commit(submissions, now) {
      if (broken !== undefined) return Promise.reject(broken);
      return new Promise((resolve, reject) => {
        const batch = nextBatch++;
        waiting.set(batch, { submissions: submissions.length, resolve, reject });
        send({
          kind: 'commit',
          batch,
          submissions: submissions.map((submission) => submission.map((e) => [e.userId, e.eventType, e.dataJson, e.keyName ?? null, e.idempotencyKey ?? null])),
          now,
        });
      });
    },
    prune: async (createdUpToMs) => void (await run({ kind: 'prune', createdUpToMs })),
    probe: async () => void (await run({ kind: 'probe' })),
    rescue: async (to, reason) => void (await run({ kind: 'rescue', to, reason })),
    saveCheckpoint: async ({ size, rootHash, note, createdMs }) => void (await run({ kind: 'checkpoint', size, rootHash: new Uint8Array(rootHash), note, createdMs })),
    saveCosignatures: async (size, lines) => void (await run({ kind: 'cosign', size, lines: lines.map(({ witness, line, cosignedAt }) => [witness, line, cosignedAt]) })),
    removePayloads: (removal) => run({ kind: 'remove', removal }),
    reclaimSpace: async () => void (await run({ kind: 'reclaim' })),
    changeSink: (change) => run({ kind: 'sink', change }),
    isAlive: () => broken === undefined && !closing,
    async close() {
      if (closing) return;
      closing = true;
      if (broken !== undefined) {
        await worker.terminate();
        return;
      }
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      send({ kind: 'close' });
      await exited;
    },
  };
}
