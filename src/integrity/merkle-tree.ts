/**
 * The Merkle tree of the log (RFC 9162 §2.1) as it is stored: every complete subtree's hash is
 * kept, so that any root, inclusion proof or consistency proof is a fold over O(log n) stored
 * hashes, and no leaf is hashed again. Pure: where the hashes live is the backends' business
 * (see SubtreeReader).
 *
 * A complete subtree is named by its level (its height: 0 for a leaf) and its index among the
 * subtrees of that level; it covers leaves [index·2^level, (index+1)·2^level).
 */
import { EMPTY_ROOT, leafHash, nodeHash } from '../../verifier/merkle.js';

export type Subtree = { level: number; index: number };

/** Reads the hashes of complete subtrees, in the order asked, from wherever they are stored. */
export type SubtreeReader = (subtrees: readonly Subtree[]) => Promise<Buffer[]>;

/** A range of leaves [start, end) whose hash a proof holds. */
type LeafRange = readonly [start: number, end: number];

/**
 * The complete subtrees that make up the range, largest first, as RFC 9162's tree splits it: the
 * range starts at a multiple of the largest power of two below its length (true of every range a
 * root or a proof asks for), so its blocks are its length's bits.
 */
export function subtreesOf(start: number, end: number): Subtree[] {
  const subtrees: Subtree[] = [];
  let at = start;
  let remaining = end - start;
  while (remaining > 0) {
    let width = 1;
    let level = 0;
    while (width * 2 <= remaining) {
      width *= 2;
      level++;
    }
    subtrees.push({ level, index: at / width });
    at += width;
    remaining -= width;
  }
  return subtrees;
}

/** The hash of a range from the hashes of its subtrees (largest first): each the left of the rest. */
export function foldSubtrees(hashes: readonly Buffer[]): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  let hash = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) hash = nodeHash(hashes[i]!, hash);
  return hash;
}

/** RFC 9162 §2.1.3.1: the ranges whose hashes prove leaf `index` in the tree of `size`, leaf upwards. */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = size;
  let m = index;
  const above: LeafRange[] = [];
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start);
    if (m < k) {
      above.push([start + k, end]);
      end = start + k;
    } else {
      above.push([start, start + k]);
      m -= k;
      start += k;
    }
  }
  // Found root downwards; a proof lists them leaf upwards.
  for (let i = above.length - 1; i >= 0; i--) ranges.push(above[i]!);
  return ranges;
}

/** RFC 9162 §2.1.4.1: the ranges whose hashes prove the tree of `oldSize` a prefix of the tree of `newSize` (0 < old < new). */
export function consistencyRanges(oldSize: number, newSize: number): LeafRange[] {
  const above: LeafRange[] = [];
  let start = 0;
  let end = newSize;
  let m = oldSize;
  let whole = true; // SUBPROOF's b: the old tree is the whole of the range so far
  for (;;) {
    const n = end - start;
    if (m === n) {
      if (!whole) above.push([start, end]);
      break;
    }
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      above.push([start + k, end]);
      end = start + k;
    } else {
      above.push([start, start + k]);
      m -= k;
      start += k;
      whole = false;
    }
  }
  return above.reverse();
}

/** The hashes of `ranges`, read in one call to `read`. */
export async function rangeHashes(ranges: readonly LeafRange[], read: SubtreeReader): Promise<Buffer[]> {
  const blocks = ranges.map(([start, end]) => subtreesOf(start, end));
  const hashes = await read(blocks.flat());
  let at = 0;
  return blocks.map((subtrees) => foldSubtrees(hashes.slice(at, (at += subtrees.length))));
}

export async function rootHash(size: number, read: SubtreeReader): Promise<Buffer> {
  return foldSubtrees(await read(subtreesOf(0, size)));
}

export function proveInclusion(index: number, size: number, read: SubtreeReader): Promise<Buffer[]> {
  return rangeHashes(inclusionRanges(index, size), read);
}

export async function proveConsistency(oldSize: number, newSize: number, read: SubtreeReader): Promise<Buffer[]> {
  if (oldSize === 0 || oldSize === newSize) return [];
  return rangeHashes(consistencyRanges(oldSize, newSize), read);
}

/**
 * The right edge of a tree: the hashes of the complete subtrees that make up its leaves, largest
 * first (one per bit of its size). All that appending needs.
 */
export type Frontier = { size: number; hashes: Buffer[] };

export const EMPTY_FRONTIER: Frontier = { size: 0, hashes: [] };

/**
 * Appends a leaf: returns the frontier after it and the hashes of the subtrees the leaf
 * completes, level 1 upwards (none when the leaf is a left child), which are stored with it.
 */
export function appendLeaf(frontier: Frontier, hash: Buffer): { frontier: Frontier; completed: Buffer[] } {
  const hashes = frontier.hashes.slice();
  const completed: Buffer[] = [];
  let node = hash;
  for (let n = frontier.size; n % 2 === 1; n = Math.floor(n / 2)) {
    node = nodeHash(hashes.pop()!, node);
    completed.push(node);
  }
  hashes.push(node);
  return { frontier: { size: frontier.size + 1, hashes }, completed };
}

/**
 * appendLeaf on a frontier of the caller's own, changed in place (the planner copies the tree's
 * once per submission): returns the hashes the leaf completes, level 1 upwards.
 */
export function growFrontier(frontier: Frontier, hash: Buffer): Buffer[] {
  const completed: Buffer[] = [];
  let node = hash;
  for (let n = frontier.size; n % 2 === 1; n = Math.floor(n / 2)) {
    node = nodeHash(frontier.hashes.pop()!, node);
    completed.push(node);
  }
  frontier.hashes.push(node);
  frontier.size++;
  return completed;
}

export function frontierRoot(frontier: Frontier): Buffer {
  return foldSubtrees(frontier.hashes);
}

/**
 * Where a subtree's hash is stored: with the last leaf it covers (the one that completed it), at
 * `level` (0: that leaf's own hash; k ≥ 1: the k-th hash it completed).
 */
export function storedWith(subtree: Subtree): { leafIndex: number; level: number } {
  return { leafIndex: (subtree.index + 1) * 2 ** subtree.level - 1, level: subtree.level };
}

export { leafHash };

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
