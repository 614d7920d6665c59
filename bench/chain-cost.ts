import { chainHashOverLeaf, GENESIS_HASH } from '../src/integrity/chain.js';
import { createUuidV7Generator } from '../src/events/uuid-v7.js';
import { eventLeafHash, newSalt } from '../src/integrity/event-leaf.js';
import { generateKey, hashKey } from '../src/auth/keys-file.js';
import { logHead, planCommit } from '../src/store/plan-commit.js';
import { EMPTY_FRONTIER } from '../src/integrity/merkle-tree.js';
import { eventData, typicalUser } from './fixtures.js';

/**
 * CPU time the tamper-evident chain adds per event: HMAC-SHA256 over the previous hash and the
 * event's leaf hash (which the tree needs anyway), measured on the benchmark's own events (median
 * of five runs of 100,000).
 */
export function measureChainMicroseconds(secret: string): number {
  const key = Buffer.from(secret);
  const nextId = createUuidV7Generator();
  const leaves = Array.from({ length: 1000 }, (_, n) => eventLeafHash({ ...nextId(), userId: typicalUser(n), eventType: 'login', dataJson: eventData(n), keyName: 'billing' }, newSalt()));
  const runs: number[] = [];
  for (let run = 0; run < 5; run++) {
    let head = GENESIS_HASH;
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) head = chainHashOverLeaf(key, head, leaves[i % leaves.length]!);
    runs.push(((performance.now() - started) * 1000) / 100_000);
  }
  return runs.sort((a, b) => a - b)[2]!;
}

/**
 * CPU time the write rules take per event, the chain link included: planCommit (ids, timestamps,
 * seqs, links) over commits of 1000 single-event submissions, as group commit hands the backend
 * under load (median of five runs of 100 commits). Beside measureChainMicroseconds, it says what
 * share of the plan is the chain, with no server that writes unchained events.
 */
export function measurePlanMicroseconds(secret: string): number {
  const key = Buffer.from(secret);
  const submissions = Array.from({ length: 1000 }, (_, n) => [{ userId: typicalUser(n), eventType: 'login', dataJson: eventData(n), keyName: 'billing' }]);
  const runs: number[] = [];
  for (let run = 0; run < 5; run++) {
    let head = logHead(undefined);
    let tree = EMPTY_FRONTIER;
    const started = performance.now();
    for (let commit = 0; commit < 100; commit++) {
      const plan = planCommit({ head, records: [], now: Date.now(), secret: key, tree }, submissions);
      const { rows } = plan;
      tree = plan.tree;
      const last = rows[rows.length - 1]!;
      head = logHead(last);
    }
    runs.push(((performance.now() - started) * 1000) / 100_000);
  }
  return runs.sort((a, b) => a - b)[2]!;
}

/**
 * CPU time that keeping keys as digests adds per request: hashing the presented key before the
 * lookup, against looking the key itself up (median of five runs of 100,000).
 */
export function measureKeyHashingMicroseconds(): number {
  const key = generateKey();
  const byDigest = new Map([[hashKey(key), 'caller']]);
  const byKey = new Map([[key, 'caller']]);
  const runs: number[] = [];
  for (let run = 0; run < 5; run++) {
    let started = performance.now();
    for (let i = 0; i < 100_000; i++) byDigest.get(hashKey(key));
    const hashed = performance.now() - started;
    started = performance.now();
    for (let i = 0; i < 100_000; i++) byKey.get(key);
    const plain = performance.now() - started;
    runs.push(((hashed - plain) * 1000) / 100_000);
  }
  return runs.sort((a, b) => a - b)[2]!;
}
