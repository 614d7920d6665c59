/**
 * Properties over random trees (1 to 300 leaves): every proof the service's tree code makes
 * verifies, and no single flipped bit, in a proof, a leaf, a root, a signed checkpoint or its
 * signature, nor a wrong size or index, gets past the verifier.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { proveConsistency, proveInclusion } from '../../src/integrity/merkle-tree.js';
import { checkConsistency } from '../../verifier/check-consistency.js';
import { checkEvent } from '../../verifier/check-event.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../verifier/merkle.js';
import { parseNote } from '../../verifier/signed-note.js';
import { Invalid, Unusable } from '../../verifier/verdict.js';
import { createLogKey, InMemoryTree, SignedLog } from './signed-log.js';

const MAX_SIZE = 300;

/** One tree of MAX_SIZE random-ish leaves, whose prefixes are the trees of every smaller size. */
const tree = new InMemoryTree();
const leaves = Array.from({ length: MAX_SIZE }, (_, i) => Buffer.from(`leaf ${i}`));
for (const leaf of leaves) tree.append(leaf);

const sizeAndIndex = fc.integer({ min: 1, max: MAX_SIZE }).chain((size) => fc.record({ size: fc.constant(size), index: fc.nat(size - 1) }));
const twoSizes = fc.tuple(fc.integer({ min: 1, max: MAX_SIZE }), fc.integer({ min: 1, max: MAX_SIZE }))
  .map(([a, b]) => ({ from: Math.min(a, b), to: Math.max(a, b) }));

function flipBit(bytes: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  const at = bit % (copy.length * 8);
  copy[at >> 3]! ^= 1 << (at & 7);
  return copy;
}

/** A verdict other than valid: the check threw Invalid or Unusable. */
function refused(check: () => unknown): void {
  assert.throws(check, (error: unknown) => error instanceof Invalid || error instanceof Unusable);
}

describe('inclusion and consistency proofs over random trees', () => {
  it('every inclusion proof verifies, and fails with any bit of a proof hash, the leaf or the root flipped, or another index', async () => {
    await fc.assert(fc.asyncProperty(sizeAndIndex, fc.nat(), fc.nat(), async ({ size, index }, bit, other) => {
      const path = await proveInclusion(index, size, tree.read);
      const root = await tree.root(size);
      const hash = leafHash(leaves[index]!);
      verifyInclusion(index, size, hash, path, root);
      path.forEach((p, i) => assert.throws(() => verifyInclusion(index, size, hash, path.with(i, flipBit(p, bit)), root)));
      assert.throws(() => verifyInclusion(index, size, leafHash(flipBit(leaves[index]!, bit)), path, root));
      assert.throws(() => verifyInclusion(index, size, hash, path, flipBit(root, bit)));
      const otherIndex = (index + 1 + (other % size)) % size;
      if (otherIndex !== index) assert.throws(() => verifyInclusion(otherIndex, size, hash, path, root));
    }), { numRuns: 200 });
  });

  it('every consistency proof verifies, and fails with any bit of a proof hash or of either root flipped', async () => {
    await fc.assert(fc.asyncProperty(twoSizes, fc.nat(), async ({ from, to }, bit) => {
      const path = await proveConsistency(from, to, tree.read);
      const oldRoot = await tree.root(from);
      const newRoot = await tree.root(to);
      verifyConsistency(from, to, oldRoot, newRoot, path);
      path.forEach((p, i) => assert.throws(() => verifyConsistency(from, to, oldRoot, newRoot, path.with(i, flipBit(p, bit)))));
      assert.throws(() => verifyConsistency(from, to, flipBit(oldRoot, bit), newRoot, path));
      assert.throws(() => verifyConsistency(from, to, oldRoot, flipBit(newRoot, bit), path));
    }), { numRuns: 200 });
  });

  it('a proof can hold for a size other than its own, which is why the verifier takes the size from the signed checkpoint alone', async () => {
    // Leaf 0's hashes are all right siblings: the same three fold to the same root for 5 or 6 leaves.
    const path = await proveInclusion(0, 5, tree.read);
    verifyInclusion(0, 6, leafHash(leaves[0]!), path, await tree.root(5));
  });
});

describe('verify-event and verify-consistency over random logs', () => {
  const key = createLogKey('auditor.example/log');
  const log = new SignedLog(key);
  for (let i = 0; i < MAX_SIZE; i++) log.append({ dataText: `{"i":${i},"note":"a b"}` });

  async function eventInputs(index: number, size: number): Promise<{ event: string; proof: Record<string, unknown>; checkpoint: string; key: string }> {
    return { event: log.eventJson(index), proof: await log.inclusionProof(index, size), checkpoint: await log.checkpoint(size), key: key.verifierKey };
  }
  const run = (inputs: Awaited<ReturnType<typeof eventInputs>>) => checkEvent({ ...inputs, proof: JSON.stringify(inputs.proof) });

  it('proves every event in every tree that holds it, and refuses a bit flipped anywhere in the signed checkpoint', async () => {
    await fc.assert(fc.asyncProperty(sizeAndIndex, fc.nat(), async ({ size, index }, bit) => {
      const inputs = await eventInputs(index, size);
      assert.match(run(inputs), new RegExp(`^VALID: event ${log.events[index]!.id} is leaf ${index} of the tree of ${size} events of the log auditor\\.example/log,`));
      const note = Buffer.from(inputs.checkpoint, 'utf8');
      refused(() => run({ ...inputs, checkpoint: flipBit(note, bit).toString('utf8') }));
    }), { numRuns: 300 });
  });

  it('refuses a bit flipped in the checkpoint\'s signature, the leaf, the data salt or a proof hash, and a wrong index or tree size', async () => {
    await fc.assert(fc.asyncProperty(sizeAndIndex, fc.nat(), fc.integer({ min: 1, max: MAX_SIZE }), fc.nat(), async ({ size, index }, bit, otherSize, otherIndex) => {
      const inputs = await eventInputs(index, size);
      const note = parseNote(inputs.checkpoint);
      const [line] = note.signatures;
      const sig = Buffer.concat([line!.keyId, flipBit(line!.signature, bit)]).toString('base64');
      refused(() => run({ ...inputs, checkpoint: `${note.text}\n\u2014 ${line!.name} ${sig}\n` }));

      const proof = inputs.proof as { leaf: string; data_salt: string; inclusion_path: string[] };
      const flipped = (b64: string): string => flipBit(Buffer.from(b64, 'base64'), bit).toString('base64');
      refused(() => run({ ...inputs, proof: { ...proof, leaf: flipped(proof.leaf) } }));
      refused(() => run({ ...inputs, proof: { ...proof, data_salt: flipped(proof.data_salt) } }));
      proof.inclusion_path.forEach((hash, i) => refused(() => run({ ...inputs, proof: { ...proof, inclusion_path: proof.inclusion_path.with(i, flipped(hash)) } })));
      if (otherSize !== size) refused(() => run({ ...inputs, proof: { ...proof, tree_size: otherSize } }));
      const wrongIndex = (index + 1 + (otherIndex % size)) % size;
      if (wrongIndex !== index) refused(() => run({ ...inputs, proof: { ...proof, leaf_index: wrongIndex } }));
    }), { numRuns: 200 });
  });

  it('proves every later checkpoint consistent with every earlier one, and refuses a bit flipped in either, or a proof between other sizes', async () => {
    await fc.assert(fc.asyncProperty(twoSizes, fc.nat(), fc.boolean(), fc.integer({ min: 1, max: MAX_SIZE }), async ({ from, to }, bit, flipOld, otherSize) => {
      const old = await log.checkpoint(from);
      const latest = await log.checkpoint(to);
      const proof = await log.consistencyProof(from, to);
      const check = (o: string, n: string, p: object) => checkConsistency({ old: o, new: n, proof: JSON.stringify(p), key: key.verifierKey });
      assert.match(check(old, latest, proof), /^VALID: /);
      const flip = (note: string) => flipBit(Buffer.from(note, 'utf8'), bit).toString('utf8');
      refused(() => (flipOld ? check(flip(old), latest, proof) : check(old, flip(latest), proof)));
      if (otherSize !== from) refused(() => check(old, latest, { ...proof, from: otherSize }));
      if (otherSize !== to) refused(() => check(old, latest, { ...proof, to: otherSize }));
    }), { numRuns: 200 });
  });
});
