/**
 * The hashes `npm run verify` computes for every event: the leaf's and the node's as the write path
 * makes them (eventLeafHash, nodeHash: one-shot SHA-256), and the chain's links as chainHash and
 * chainHashOverLeaf do, with node:crypto's one-shot hash() over one reused buffer: an Hmac object
 * per call costs more than the hashing of an event's few hundred bytes, and a re-hash of millions
 * of events is all calls. The chain's bytes still come from canonicalEvent, so each format lives
 * once; test/integrity checks every function here against its reference.
 */
import { hash } from 'node:crypto';
import { nodeHash } from '../../verifier/merkle.js';
import { canonicalEvent, LEAF_LINK_TAG, type ChainedFields } from './chain.js';
import { eventLeafHash } from './event-leaf.js';

/** SHA-256's block size: an HMAC key is padded (or first hashed) to it. */
const BLOCK = 64;
const HASH_BYTES = 32;

export type ScratchHasher = {
  /** leafHash(eventLeaf(event, salt)). */
  leafHash(event: ChainedFields, salt: Uint8Array): Buffer;
  /** nodeHash(left, right). */
  nodeHash(left: Uint8Array, right: Uint8Array): Buffer;
  /** chainHash(secret, previous, event), for the secret the hasher was made with. */
  chainHash(previous: Uint8Array, event: ChainedFields): Buffer;
  /** chainHashOverLeaf(secret, previous, leafHash), for the secret the hasher was made with. */
  chainHashOverLeaf(previous: Uint8Array, leafHash: Uint8Array): Buffer;
};

export function createScratchHasher(secret: Buffer = Buffer.alloc(0)): ScratchHasher {
  let scratch = Buffer.allocUnsafe(4096);
  /** The scratch buffer, grown to hold at least `bytes`. */
  const room = (bytes: number): Buffer => {
    if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, scratch.length * 2));
    return scratch;
  };
  // HMAC (RFC 2104): H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ message)), K the secret padded to a block.
  const key = Buffer.alloc(BLOCK);
  (secret.length > BLOCK ? hash('sha256', secret, 'buffer') : secret).copy(key);
  const innerPad = Buffer.from(key.map((byte) => byte ^ 0x36));
  const outer = Buffer.allocUnsafe(BLOCK + HASH_BYTES);
  Buffer.from(key.map((byte) => byte ^ 0x5c)).copy(outer);

  /** HMAC(secret, message), the message written by `write` into the scratch after the inner pad. */
  const hmac = (messageBytes: number, write: (into: Buffer) => void): Buffer => {
    const buffer = room(BLOCK + messageBytes);
    buffer.set(innerPad, 0);
    write(buffer);
    hash('sha256', buffer.subarray(0, BLOCK + messageBytes), 'buffer').copy(outer, BLOCK);
    return hash('sha256', outer, 'buffer');
  };

  return {
    leafHash: eventLeafHash,
    nodeHash,
    chainHash(previous, event) {
      const canonical = canonicalEvent(event);
      return hmac(previous.length + canonical.length, (buffer) => {
        buffer.set(previous, BLOCK);
        buffer.set(canonical, BLOCK + previous.length);
      });
    },
    chainHashOverLeaf(previous, leafHash) {
      return hmac(previous.length + 1 + leafHash.length, (buffer) => {
        buffer.set(previous, BLOCK);
        buffer[BLOCK + previous.length] = LEAF_LINK_TAG;
        buffer.set(leafHash, BLOCK + previous.length + 1);
      });
    },
  };
}
