/**
 * Our tree, proofs and proof checks against the RFC 6962 / RFC 9162 reference tree: the eight
 * reference leaves, the root of each of its sizes 1 to 8, and its published inclusion and
 * consistency proofs. The values are copied (data only) from transparency-dev/merkle, the Go
 * library behind Trillian and Tessera: proof/verify_test.go (`leaves`, `roots`,
 * `inclusionProofs`, `consistencyProofs`; its leaf numbers are 1-based, ours 0-based).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { proveConsistency, proveInclusion } from '../../src/integrity/merkle-tree.js';
import { EMPTY_ROOT, leafHash, verifyConsistency, verifyInclusion } from '../../verifier/merkle.js';
import { InMemoryTree } from './signed-log.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);

/** ROOTS[n - 1]: the root of the tree of the first n reference leaves. */
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hex);

const EMPTY_TREE_ROOT = hex('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

/** [leaf index (0-based), tree size, proof]. */
const INCLUSION_PROOFS: Array<[number, number, string[]]> = [
  [0, 1, []],
  [0, 8, [
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ]],
  [5, 8, [
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  ]],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [1, 5, [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  ]],
];

/** [old size, new size, proof]. */
const CONSISTENCY_PROOFS: Array<[number, number, string[]]> = [
  [1, 1, []],
  [1, 8, [
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ]],
  [6, 8, [
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  ]],
  [2, 5, [
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  ]],
  [6, 7, [
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  ]],
];

function referenceTree(): InMemoryTree {
  const tree = new InMemoryTree();
  for (const leaf of LEAVES) tree.append(leaf);
  return tree;
}

const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');

function flipped(hash: Buffer, bit: number): Buffer {
  const copy = Buffer.from(hash);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe('the RFC 6962 reference tree (transparency-dev/merkle test data)', () => {
  it('gives the published root for each size from 0 to 8, read from the stored subtrees of the tree of 8', async () => {
    const tree = referenceTree();
    assert.deepEqual(EMPTY_ROOT, EMPTY_TREE_ROOT);
    assert.deepEqual(await tree.root(0), EMPTY_TREE_ROOT);
    for (let size = 1; size <= 8; size++) assert.deepEqual((await tree.root(size)).toString('hex'), ROOTS[size - 1]!.toString('hex'), `size ${size}`);
  });

  for (const [index, size, published] of INCLUSION_PROOFS) {
    it(`proves leaf ${index} in the tree of ${size} with exactly the published hashes, which our check accepts and no altered proof passes`, async () => {
      const tree = referenceTree();
      const proof = await proveInclusion(index, size, tree.read);
      assert.deepEqual(proof.map((h) => h.toString('hex')), published);
      const leaf = leafHash(LEAVES[index]!);
      const root = ROOTS[size - 1]!;
      verifyInclusion(index, size, leaf, proof, root);

      const altered: Array<[string, () => void]> = [
        ['the next index', () => verifyInclusion(index + 1, size, leaf, proof, root)],
        ['twice the size', () => verifyInclusion(index, size * 2, leaf, proof, root)],
        ['another leaf', () => verifyInclusion(index, size, leafHash(Buffer.from('WrongLeaf')), proof, root)],
        ['the empty root', () => verifyInclusion(index, size, leaf, proof, EMPTY_TREE_ROOT)],
        ['another root', () => verifyInclusion(index, size, leaf, proof, SOME_HASH)],
        ['a hash appended', () => verifyInclusion(index, size, leaf, [...proof, root], root)],
        ['a hash prepended', () => verifyInclusion(index, size, leaf, [root, ...proof], root)],
      ];
      if (index > 0) altered.push(['the previous index', () => verifyInclusion(index - 1, size, leaf, proof, root)]);
      if (size > 1) altered.push(['half the size', () => verifyInclusion(index, Math.floor(size / 2), leaf, proof, root)]);
      if (proof.length > 0) altered.push(['the last hash removed', () => verifyInclusion(index, size, leaf, proof.slice(0, -1), root)]);
      proof.forEach((hash, i) => {
        for (const bit of [0, 3, 255]) altered.push([`bit ${bit} of hash ${i} flipped`, () => verifyInclusion(index, size, leaf, proof.with(i, flipped(hash, bit)), root)]);
      });
      for (const [what, check] of altered) assert.throws(check, Error, what);
    });
  }

  for (const [from, to, published] of CONSISTENCY_PROOFS) {
    it(`proves the tree of ${from} a prefix of the tree of ${to} with exactly the published hashes, which our check accepts and no altered proof passes`, async () => {
      const tree = referenceTree();
      const proof = await proveConsistency(from, to, tree.read);
      assert.deepEqual(proof.map((h) => h.toString('hex')), published);
      const oldRoot = ROOTS[from - 1]!;
      const newRoot = ROOTS[to - 1]!;
      verifyConsistency(from, to, oldRoot, newRoot, proof);
      if (proof.length === 0) return;

      const altered: Array<[string, () => void]> = [
        ['the old size less one', () => verifyConsistency(from - 1, to, oldRoot, newRoot, proof)],
        ['the old size plus one', () => verifyConsistency(from + 1, to, oldRoot, newRoot, proof)],
        ['twice the new size', () => verifyConsistency(from, to * 2, oldRoot, newRoot, proof)],
        ['half the new size', () => verifyConsistency(from, Math.floor(to / 2), oldRoot, newRoot, proof)],
        ['another old root', () => verifyConsistency(from, to, SOME_HASH, newRoot, proof)],
        ['another new root', () => verifyConsistency(from, to, oldRoot, SOME_HASH, proof)],
        ['the roots swapped', () => verifyConsistency(from, to, newRoot, oldRoot, proof)],
        ['an empty proof', () => verifyConsistency(from, to, oldRoot, newRoot, [])],
        ['a hash appended', () => verifyConsistency(from, to, oldRoot, newRoot, [...proof, newRoot])],
        ['a hash prepended', () => verifyConsistency(from, to, oldRoot, newRoot, [oldRoot, ...proof])],
        ['the last hash removed', () => verifyConsistency(from, to, oldRoot, newRoot, proof.slice(0, -1))],
      ];
      proof.forEach((hash, i) => {
        for (const bit of [0, 4, 255]) altered.push([`bit ${bit} of hash ${i} flipped`, () => verifyConsistency(from, to, oldRoot, newRoot, proof.with(i, flipped(hash, bit)))]);
      });
      for (const [what, check] of altered) assert.throws(check, Error, what);
    });
  }
});
