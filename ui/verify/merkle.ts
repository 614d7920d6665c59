/**
 * RFC 9162 §2.1.3.2 inclusion proofs, as verifier/merkle.ts checks them, with WebCrypto's SHA-256
 * (which is asynchronous, hence a copy rather than an import). Sizes and indexes are plain numbers
 * (exact up to 2^53), so their bits are read with arithmetic, never with 32-bit operators.
 */
import { equalBytes, sha256 } from './bytes.js';

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** SHA-256(0x00 ‖ leaf): the hash of one leaf. */
export function leafHash(leaf: Uint8Array): Promise<Uint8Array> {
  return sha256(LEAF_PREFIX, leaf);
}

/** SHA-256(0x01 ‖ left ‖ right): the hash of an inner node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(NODE_PREFIX, left, right);
}

/**
 * Whether `path` proves that `hash` is leaf `index` of the tree of `size` leaves whose root is
 * `root`. Throws an Error saying what failed; returns when it holds.
 */
export async function verifyInclusion(index: number, size: number, hash: Uint8Array, path: readonly Uint8Array[], root: Uint8Array): Promise<void> {
  if (!isSize(index) || !isSize(size)) throw new Error('the leaf index and the tree size must be whole numbers');
  if (index >= size) throw new Error(`leaf ${index} is not in a tree of ${size} leaves`);
  let fn = index;
  let sn = size - 1;
  let r = hash;
  for (const p of path) {
    if (sn === 0) throw new Error(`the inclusion proof has ${path.length} hashes, more than a tree of ${size} needs`);
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new Error(`the inclusion proof has ${path.length} hashes, fewer than a tree of ${size} needs`);
  if (!equalBytes(r, root)) throw new Error(`the inclusion proof does not lead to the root hash of the tree of ${size}`);
}

function isSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function half(n: number): number {
  return Math.floor(n / 2);
}
