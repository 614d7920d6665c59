/**
 * `npm run verify`'s check of the Merkle tree: rebuilds it from the stored event rows, with the
 * log's public key alone, and compares it with every stored hash and every signed checkpoint.
 *
 * The log is cut into aligned chunks of 2^level seqs; one worker thread per core re-hashes a
 * chunk at a time (reading its rows on a connection of its own) and answers the chunk's subtree
 * root, the hashes its checkpoints need and what it found. The main thread takes the answers in
 * chunk order and folds the chunk roots into the levels above, as appendLeaf does leaves, so the
 * memory held is one chunk per thread and one hash per level, however long the log.
 */
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EMPTY_ROOT, nodeHash } from '../../verifier/merkle.js';
import { formatVerifierKey, type VerifierKey } from '../../verifier/signed-note.js';
import type { DatabaseLocation } from '../config.js';
import type { TreeRows } from '../store/tree-rows.js';
import { same, signedRoot, type ChunkCheckpoint, type ChunkResult, type RebuiltNode } from './tree-chunk.js';
import { addFinding, type Finding } from './tree-finding.js';
import type { ChunkReply, ChunkRequest, CloseRequest, WorkerSetup } from './verify-tree-worker.js';

/** 2^16 events a chunk: big enough that a chunk's fixed costs vanish, small enough to hold a few in memory. */
export const CHUNK_LEVEL = 16;
/** Findings kept to print; the rest are counted. */
const MAX_FINDINGS = 1000;
/** Seqs below 1 named one by one. */
const MAX_NAMED_BELOW_ONE = 100;
const PLACEHOLDER = new Uint8Array(32);

export type TreeOptions = {
  key: VerifierKey;
  /** The chain's key, when known: each link is then checked too. */
  secret?: Buffer | undefined;
  /** log2 of the seqs in a chunk (CHUNK_LEVEL; tests take small chunks to cross their edges). */
  chunkLevel?: number;
  /** Worker threads (one per core). */
  threads?: number;
};

export type TreeVerdict = {
  /** The seqs the tree was rebuilt over (1 to this), and the events found there. */
  size: number;
  events: number;
  chained: number;
  unchained: number;
  /** Events whose payload retention removed, and those an erasure removed, each on its record or named in a finding. */
  expired: number;
  erased: number;
  /** Of the chained events, the removed ones whose link, over the canonical form of their payload, was taken as stored. */
  linksTakenAsStored: number;
  threads: number;
  /** Checkpoints whose signature and root were checked; the latest one's size and whether it holds. */
  checkpoints: number;
  latest: { size: number; holds: boolean } | undefined;
  findings: Finding[];
  findingsLeft: number;
};

/** Rebuilds the tree of the database `rows` reads (`database` for the workers to open) and checks it. */
export async function verifyTree(database: DatabaseLocation, rows: TreeRows, options: TreeOptions): Promise<TreeVerdict> {
  const { key } = options;
  const level = options.chunkLevel ?? CHUNK_LEVEL;
  const width = 2 ** level;
  const findings: Finding[] = [];
  let findingsLeft = 0;
  const found = (finding: Finding): void => {
    if (findings.length < MAX_FINDINGS) addFinding(findings, finding);
    else findingsLeft++;
  };

  const extent = await rows.extent();
  for (const { seq, id } of await rows.eventsBelowOne(MAX_NAMED_BELOW_ONE)) {
    found({ kind: 'event', reason: 'inserted', seq, id, detail: 'has a seq below 1, before the first event: no event the service writes has one' });
  }
  for (const seq of await rows.leavesBelowOne(MAX_NAMED_BELOW_ONE)) {
    found({ kind: 'other', reason: 'inserted', detail: `a leaf row has seq ${seq}, below 1: no leaf the service writes has one` });
  }

  const size = Math.max(extent.lastEventSeq, extent.lastLeafSeq);
  const verdict: TreeVerdict = { size, events: 0, chained: 0, unchained: 0, expired: 0, erased: 0, linksTakenAsStored: 0, threads: 0, checkpoints: 0, latest: undefined, findings, findingsLeft: 0 };
  // Counted, not listed: one edit makes every later checkpoint differ, and there may be millions.
  const rootMismatches = new SizeRun();
  const unsigned = new SizeRun();
  const checkRoot = ({ size: at, signed }: Pick<ChunkCheckpoint, 'size' | 'signed'>, root: Uint8Array): void => {
    verdict.checkpoints++;
    const holds = 'root' in signed && same(signed.root, root);
    if ('failure' in signed) unsigned.add(at, signed.failure);
    else if (!holds) rootMismatches.add(at);
    if (at === extent.latestCheckpointSize) verdict.latest = { size: at, holds };
  };

  const empty = await rows.checkpoint(0);
  if (empty !== undefined) checkRoot({ size: 0, signed: signedRoot(empty, key, found) }, EMPTY_ROOT);

  // The tree as rebuilt so far: its complete subtrees, largest first (the frontier).
  const stack: RebuiltNode[] = [];
  const push = (node: RebuiltNode, storedAbove: readonly Uint8Array[], lastSeq: number): void => {
    let above = 0;
    while (stack.length > 0 && stack[stack.length - 1]!.level === node.level) {
      const left = stack.pop()!;
      const rebuilt = nodeHash(left.hash, node.hash);
      const stored = storedAbove[above++];
      const matches = stored !== undefined && same(rebuilt, stored);
      if (!matches && stored !== undefined && left.ok && node.ok) {
        const leaves = 2 ** (node.level + 1);
        found({ kind: 'other', reason: 'rewritten', detail: `the stored hash of leaves ${lastSeq - leaves} to ${lastSeq - 1} is not the hash of the two below it: the tree's nodes were changed` });
      }
      node = { level: node.level + 1, hash: rebuilt, ok: matches };
    }
    stack.push(node);
  };
  const rootWith = (partial: Uint8Array): Uint8Array => stack.reduceRight((hash, node) => nodeHash(node.hash, hash), partial);

  const combine = (index: number, result: ChunkResult): void => {
    for (const checkpoint of result.checkpoints) checkRoot(checkpoint, rootWith(checkpoint.partialRoot));
    for (const finding of result.findings) found(finding);
    findingsLeft += result.findingsLeft;
    verdict.events += result.events;
    verdict.chained += result.chained;
    verdict.unchained += result.unchained;
    verdict.expired += result.expired;
    verdict.erased += result.erased;
    verdict.linksTakenAsStored += result.linksTakenAsStored;
    const lastSeq = Math.min((index + 1) * width, size);
    for (const node of result.subtrees) push({ ...node, hash: Buffer.from(node.hash) }, result.storedAbove.map((hash) => Buffer.from(hash)), lastSeq);
  };
  /** Chunks `from` to `to - 1` hold no row at all: the frontier takes them as aligned blocks that match nothing. */
  const skip = async (from: number, to: number): Promise<void> => {
    if (from >= to) return;
    found({ kind: 'run', reason: 'deleted', run: 'missing', from: from * width + 1, to: to * width });
    for (const checkpointSize of await rows.checkpointSizesBetween(from * width + 1, to * width, MAX_FINDINGS)) rootMismatches.add(checkpointSize);
    for (let at = from; at < to;) {
      let blocks = 1;
      while (at % (blocks * 2) === 0 && at + blocks * 2 <= to) blocks *= 2;
      push({ level: level + Math.log2(blocks), hash: PLACEHOLDER, ok: false }, [], (at + blocks) * width);
      at += blocks;
    }
  };

  const chunks = Math.ceil(size / width);
  verdict.threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), chunks));
  if (chunks > 0) {
    const setup: WorkerSetup = { database, key: formatVerifierKey(key.name, key.algorithm, key.publicKey), secret: options.secret, chainRequiredAfter: extent.firstCheckpointSize, chainOverLeavesFrom: extent.chainOverLeavesFrom };
    await runWorkers(verdict.threads, setup, chunks, level, size, async (index, result) => {
      combine(index, result);
      if (!result.empty) return index + 1;
      // A run of seqs with no row at all (a forged seq far beyond the log): jump over it.
      const next = result.nextSeq === undefined ? chunks : Math.min(chunks, Math.floor((result.nextSeq - 1) / width));
      await skip(index + 1, next);
      return Math.max(index + 1, next);
    });
  }

  const latest = extent.latestCheckpointSize;
  if (latest !== undefined && latest > size) {
    const checkpoint = await rows.checkpoint(latest);
    const signed = checkpoint === undefined ? undefined : signedRoot(checkpoint, key, found);
    if (signed !== undefined && 'failure' in signed) unsigned.add(latest, signed.failure);
    if (signed !== undefined && 'root' in signed) {
      const beyond = (await rows.checkpointSizesAbove(size, MAX_FINDINGS)).length;
      found({ kind: 'other', reason: 'truncated', detail: `the log holds ${size} events, but its latest checkpoint, signed by the key, covers ${latest}${beyond > 1 ? ` (and ${beyond - 1} more checkpoints cover more than the log holds)` : ''}: the events after seq ${size} were removed` });
      verdict.latest = { size: latest, holds: false };
    }
  }
  if (unsigned.count > 0) {
    const more = unsigned.count - 1;
    found({
      kind: 'other',
      reason: 're-signed',
      detail: `the checkpoint of size ${unsigned.first} does not verify with the key ${key.name}+${key.keyId.toString('hex')} (${unsigned.why})${more > 0 ? `, nor do ${more} more (up to size ${unsigned.last})` : ''}: signed by another key, or edited`,
    });
  }
  if (rootMismatches.count > 0) {
    const { first, last, count } = rootMismatches;
    found({
      kind: 'other',
      reason: 'rewritten',
      detail: count === 1
        ? `the checkpoint of size ${first}, signed by the key, is not the root of the tree rebuilt from the events: what it covers was changed after it was signed`
        : `${count} checkpoints signed by the key (sizes ${first} to ${last}) are not roots of the tree rebuilt from the events: what they cover was changed after they were signed`,
    });
  }
  verdict.findingsLeft = findingsLeft;
  return verdict;
}

/** Checkpoint sizes that fail one way: the first (and why), the last, how many. */
class SizeRun {
  count = 0;
  first = 0;
  last = 0;
  why = '';

  add(size: number, why = ''): void {
    if (this.count++ === 0) {
      this.first = size;
      this.why = why;
    }
    this.last = size;
  }
}

/**
 * Hands chunks to `threads` workers in order and gives their answers to `take` in chunk order;
 * `take` answers which chunk comes next (so a run of empty chunks is skipped, not read). No
 * worker runs more than AHEAD chunks per thread past the one awaited, so answers waiting their
 * turn stay few however slow one chunk is.
 */
async function runWorkers(
  threads: number, setup: WorkerSetup, chunks: number, level: number, size: number,
  take: (index: number, result: ChunkResult) => Promise<number>,
): Promise<void> {
  const AHEAD = 4;
  const width = 2 ** level;
  const seqs = (index: number) => ({ from: index * width + 1, to: Math.min((index + 1) * width, size) });
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./verify-tree-worker.js', import.meta.url), { workerData: setup }));
  const answers = new Map<number, ChunkResult>();
  const idle: Worker[] = [];
  let next = 0;
  let wanted = 0;
  let taking = Promise.resolve();
  try {
    await new Promise<void>((resolve, reject) => {
      const give = (): void => {
        while (idle.length > 0 && next < chunks && next < wanted + AHEAD * threads) {
          const index = next++;
          idle.pop()!.postMessage({ index, ...seqs(index), level } satisfies ChunkRequest);
        }
      };
      const takeInOrder = async (): Promise<void> => {
        for (let answer = answers.get(wanted); answer !== undefined; answer = answers.get(wanted)) {
          answers.delete(wanted);
          const after = await take(wanted, answer);
          for (const index of answers.keys()) if (index < after) answers.delete(index);
          wanted = after;
          next = Math.max(next, wanted);
        }
        if (wanted >= chunks) resolve();
        give();
      };
      for (const worker of workers) {
        worker.on('error', reject);
        worker.on('message', (message: ChunkReply | 'ready') => {
          idle.push(worker);
          if (message === 'ready') {
            give();
          } else if ('error' in message) {
            const { from, to } = seqs(message.index);
            reject(new Error(`reading seqs ${from} to ${to}: ${message.error}`));
          } else {
            if (message.index >= wanted) answers.set(message.index, message.result);
            taking = taking.then(takeInOrder).catch(reject);
          }
        });
      }
    });
  } finally {
    await Promise.all(workers.map(closeWorker));
  }
}

/**
 * Asks `worker` to close its connection and exit, and waits until it has. Terminating it instead
 * could catch it still loading the SQLite driver, and better-sqlite3 13 aborts the whole process
 * when its module's start is cut short (seen on Node 24). A worker that has not exited within
 * CLOSE_GRACE_MS (one blocked on a read gone astray) is terminated all the same.
 */
async function closeWorker(worker: Worker): Promise<void> {
  const CLOSE_GRACE_MS = 10_000;
  if (worker.threadId === -1) return; // it has exited already (its start failed)
  const exited = once(worker, 'exit');
  worker.postMessage('close' satisfies CloseRequest);
  const grace = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(grace);
  }
}
