import { Worker } from 'node:worker_threads';
import type { NewEvent, StoredEvent } from '../../events/event.js';
import type { BatchOutcome } from '../group-commit.js';
import { IdempotencyConflictError } from '../idempotency.js';
import type { FileIdentity } from './database-files.js';
import { IDEMPOTENCY_CONFLICT, type GroupOutcome, type WriterData, type WriterReply, type WriterRequest } from './writer-protocol.js';

export type SqliteWriter = {
  /**
   * Commits the groups in one transaction on the writer thread (a CommitBatch for group commit):
   * a group of several events is stored whole or not at all.
   */
  commit(groups: ReadonlyArray<readonly NewEvent[]>): Promise<Array<BatchOutcome<StoredEvent[]>>>;
  /** Resolves once the writer has committed a write to the probe row; rejects with why it could not. */
  probe(): Promise<void>;
  /**
   * Tells the writer its files are lost (`reason`), so it writes nothing more, and has it copy what
   * the open file holds to a new file at `to`. Resolves once the copy is complete.
   */
  rescue(to: string, reason: string): Promise<void>;
  /** False once the writer thread has failed or stopped: nothing could be stored. */
  isAlive(): boolean;
  /** Lets the writer finish and close its connection. */
  close(): Promise<void>;
};

type Waiting = {
  groups: ReadonlyArray<readonly NewEvent[]>;
  resolve(outcomes: Array<BatchOutcome<StoredEvent[]>>): void;
  reject(error: Error): void;
};

/**
 * Starts the writer thread for the SQLite file at `path` (whose schema must already exist), which
 * chains every event it writes with `chainSecret` (none only for the benchmark's comparison).
 */
export function startSqliteWriter(
  path: string,
  chainSecret: Buffer | undefined,
  options: {
    pruneEveryCommits: number;
    identity: FileIdentity;
    onPruneFailed(message: string): void;
    /** The writer found that the paths no longer name the files it writes. */
    onLost(reason: string): void;
  },
): SqliteWriter {
  const workerData: WriterData = {
    path,
    chainSecret: chainSecret === undefined ? null : new Uint8Array(chainSecret),
    pruneEveryCommits: options.pruneEveryCommits,
    identity: options.identity,
  };
  const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData });
  const waiting = new Map<number, Waiting>();
  const probes = new Map<number, { resolve(): void; reject(error: Error): void }>();
  const rescues = new Map<string, { resolve(): void; reject(error: Error): void }>();
  let nextBatch = 0;
  let nextProbe = 0;
  let broken: Error | undefined;
  let closing = false;

  const failAll = (error: Error): void => {
    broken ??= error;
    for (const entry of [...waiting.values(), ...probes.values(), ...rescues.values()]) entry.reject(error);
    waiting.clear();
    probes.clear();
    rescues.clear();
  };

  worker.on('message', (reply: WriterReply) => {
    if (reply.kind === 'closed') return;
    if (reply.kind === 'prune-failed') {
      options.onPruneFailed(reply.message);
      return;
    }
    if (reply.kind === 'lost') {
      options.onLost(reply.reason);
      return;
    }
    if (reply.kind === 'rescued') {
      const rescue = rescues.get(reply.to);
      rescues.delete(reply.to);
      if (reply.message === null) rescue?.resolve();
      else rescue?.reject(new Error(reply.message));
      return;
    }
    if (reply.kind === 'probed') {
      const probe = probes.get(reply.probe);
      probes.delete(reply.probe);
      if (reply.message === null) probe?.resolve();
      else probe?.reject(new Error(reply.message));
      return;
    }
    const entry = waiting.get(reply.batch);
    if (entry === undefined) return;
    waiting.delete(reply.batch);
    if (reply.kind === 'failed') {
      const error: Error & { code?: string } = new Error(reply.message);
      if (reply.code !== null) error.code = reply.code;
      entry.reject(error);
      return;
    }
    entry.resolve(reply.outcomes.map((outcome, i) => toBatchOutcome(outcome, entry.groups[i]!)));
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => {
    if (!closing) failAll(new Error(`the SQLite writer thread stopped (exit code ${code})`));
  });

  const send = (request: WriterRequest): void => worker.postMessage(request);

  return {
    commit(groups) {
      if (broken !== undefined) return Promise.reject(broken);
      return new Promise((resolve, reject) => {
        const batch = nextBatch++;
        waiting.set(batch, { groups, resolve, reject });
        send({
          kind: 'commit',
          batch,
          groups: groups.map((group) => group.map((e) => [e.userId, e.eventType, e.dataJson, e.keyName ?? null, e.idempotencyKey ?? null])),
        });
      });
    },
    probe() {
      if (broken !== undefined) return Promise.reject(broken);
      if (closing) return Promise.reject(new Error('the SQLite writer is closing'));
      return new Promise((resolve, reject) => {
        const probe = nextProbe++;
        probes.set(probe, { resolve, reject });
        send({ kind: 'probe', probe });
      });
    },
    rescue(to, reason) {
      if (broken !== undefined) return Promise.reject(broken);
      if (closing) return Promise.reject(new Error('the SQLite writer is closing'));
      return new Promise((resolve, reject) => {
        rescues.set(to, { resolve, reject });
        send({ kind: 'rescue', to, reason });
      });
    },
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

function toBatchOutcome(outcome: GroupOutcome, group: readonly NewEvent[]): BatchOutcome<StoredEvent[]> {
  if (typeof outcome === 'string') return { ok: false, error: new Error(outcome) };
  const stored: StoredEvent[] = [];
  for (const [i, result] of outcome.entries()) {
    if (result === IDEMPOTENCY_CONFLICT) {
      return { ok: false, error: new IdempotencyConflictError('the Idempotency-Key was used for a different event') };
    }
    if (typeof result === 'string') return { ok: false, error: new Error(result) };
    const { userId, eventType, dataJson } = group[i]!;
    const [id, timestampMs, seq, replayed] = result;
    stored.push({ id, timestampMs, seq, userId, eventType, dataJson, ...(replayed ? { replayed } : {}) });
  }
  return { ok: true, value: stored };
}
