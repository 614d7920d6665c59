/**
 * RFC 9162 (Certificate Transparency 2.0) §2.1: the Merkle tree's hashes, and the checks of its
 * inclusion and consistency proofs. Sizes and indexes are plain numbers (exact up to 2^53), so
 * their bits are read with arithmetic, never with JavaScript's 32-bit operators.
 */
import { hash } from 'node:crypto';

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = hash('sha256', Buffer.alloc(0), 'buffer');

/** SHA-256(0x00 ‖ leaf): the hash of one leaf. */
export function leafHash(leaf: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([LEAF_PREFIX, leaf]), 'buffer');
}

/**
 * SHA-256(0x01 ‖ left ‖ right): the hash of an inner node. One-shot (node:crypto's hash, Node
 * 20.12 and later): a Hash object per node was most of the cost of rebuilding a tree.
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  const node = Buffer.allocUnsafe(1 + left.length + right.length);
  node[0] = 0x01;
  node.set(left, 1);
  node.set(right, 1 + left.length);
  return hash('sha256', node, 'buffer');
}

const LEAF_PREFIX = Buffer.from([0x00]);

/**
 * RFC 9162 §2.1.3.2: whether `path` proves that `hash` is leaf `index` of the tree of `size`
 * leaves whose root is `root`. Throws an Error saying what failed; returns when it holds.
 */
export function verifyInclusion(index: number, size: number, hash: Uint8Array, path: readonly Uint8Array[], root: Uint8Array): void {
  if (!isSize(index) || !isSize(size)) throw new Error('the leaf index and the tree size must be whole numbers');
  if (index >= size) throw new Error(`leaf ${index} is not in a tree of ${size} leaves`);
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = hash;
  for (const p of path) {
    if (sn === 0) throw new Error(`the inclusion proof has ${path.length} hashes, more than a tree of ${size} needs`);
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new Error(`the inclusion proof has ${path.length} hashes, fewer than a tree of ${size} needs`);
  if (!equal(r, root)) throw new Error(`the inclusion proof does not lead to the root hash of the tree of ${size}`);
}

/**
 * RFC 9162 §2.1.4.2: whether `path` proves that the tree of `newSize` leaves with root `newRoot`
 * extends the tree of `oldSize` leaves with root `oldRoot`, changing none of its leaves. Throws an
 * Error saying what failed; returns when it holds.
 */
export function verifyConsistency(
  oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, path: readonly Uint8Array[],
): void {
  if (!isSize(oldSize) || !isSize(newSize)) throw new Error('the tree sizes must be whole numbers');
  if (oldSize > newSize) throw new Error(`the old tree (${oldSize}) is larger than the new one (${newSize}): the log was rolled back`);
  if (oldSize === newSize) {
    if (path.length !== 0) throw new Error('a proof between two trees of the same size must be empty');
    if (!equal(oldRoot, newRoot)) throw new Error(`two different root hashes for the same tree size ${oldSize}: the log forked`);
    return;
  }
  if (oldSize === 0) {
    // Every tree extends the empty one; RFC 9162 defines no proof for it.
    if (path.length !== 0) throw new Error('a proof from the empty tree must be empty');
    return;
  }
  const hashes = isPowerOfTwo(oldSize) ? [oldRoot, ...path] : [...path];
  if (hashes.length === 0) throw new Error('the consistency proof is empty');
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = hashes[0]!;
  let sr = hashes[0]!;
  for (const c of hashes.slice(1)) {
    if (sn === 0) throw new Error('the consistency proof has more hashes than the two sizes need');
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new Error('the consistency proof has fewer hashes than the two sizes need');
  if (!equal(fr, oldRoot)) throw new Error(`the consistency proof does not lead to the old root hash (tree of ${oldSize})`);
  if (!equal(sr, newRoot)) throw new Error(`the consistency proof does not lead to the new root hash (tree of ${newSize})`);
}

function isSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
