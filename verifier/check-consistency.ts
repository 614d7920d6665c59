/**
 * The checks of npm run verify-consistency, without the command line: that the log's later
 * checkpoint extends its earlier one, so that no event the earlier one covered was changed,
 * removed or reordered since. See README.md for what each step proves.
 */
import { verifyConsistency } from './merkle.js';
import { readConsistencyProof, type ConsistencyProof } from './proof-json.js';
import { openCheckpoint, readLogKey } from './signed-checkpoint.js';
import { holds, Invalid, readOr, Unusable } from './verdict.js';

export type ConsistencyInputs = {
  /** The earlier checkpoint (a signed note, as GET /checkpoint served it). */
  old: string;
  /** The later checkpoint. */
  new: string;
  /** GET /proofs/consistency?from=M&to=N; not needed when the sizes are equal or the old one is 0. */
  proof: string | undefined;
  /** GET /checkpoint/key */
  key: string;
};

/**
 * Returns one line saying what was proved; throws Invalid naming the first check that failed, or
 * Unusable naming the input that could not be read.
 */
export function checkConsistency(inputs: ConsistencyInputs): string {
  const key = readLogKey(inputs.key);
  const proof = inputs.proof === undefined ? undefined : readOr('proof', () => readConsistencyProof(inputs.proof!));
  const old = openCheckpoint('old', 'the old checkpoint', inputs.old, key);
  const latest = openCheckpoint('new', 'the new checkpoint', inputs.new, key);

  if (old.origin !== latest.origin) {
    throw new Invalid(`the checkpoints are of two logs: the old one of ${JSON.stringify(old.origin)}, the new one of ${JSON.stringify(latest.origin)}`);
  }
  // These two need no proof: the log's own signatures are the evidence.
  if (latest.size < old.size) {
    throw new Invalid(`the new checkpoint is smaller: rollback (the log signed a tree of ${old.size} events, then one of ${latest.size})`);
  }
  if (latest.size === old.size && !old.rootHash.equals(latest.rootHash)) {
    throw new Invalid(`same size, different roots: fork (the log signed two different trees of ${old.size} events)`);
  }
  const path = proofPath(proof, old.size, latest.size);
  holds('the consistency proof fails', () => verifyConsistency(old.size, latest.size, old.rootHash, latest.rootHash, path));

  return old.size === latest.size
    ? `VALID: both checkpoints are the same tree of ${old.size} events of the log ${old.origin}, signed by ${key.name}+${key.keyId.toString('hex')}.`
    : `VALID: the tree of ${latest.size} events of the log ${old.origin} extends its tree of ${old.size}, both signed by ${key.name}+${key.keyId.toString('hex')}: ` +
      `none of the first ${old.size} events was changed, removed or reordered.`;
}

function proofPath(proof: ConsistencyProof | undefined, from: number, to: number): Buffer[] {
  if (proof === undefined) {
    // Equal sizes, or from the empty tree: the proof is empty by definition.
    if (from === to || from === 0) return [];
    throw new Unusable('proof', `a consistency proof is needed from size ${from} to ${to}: GET /proofs/consistency?from=${from}&to=${to}`);
  }
  if (proof.from !== from || proof.to !== to) {
    throw new Invalid(`the proof is from size ${proof.from} to ${proof.to}, the checkpoints are of sizes ${from} and ${to}: ask for GET /proofs/consistency?from=${from}&to=${to}`);
  }
  return proof.path;
}
