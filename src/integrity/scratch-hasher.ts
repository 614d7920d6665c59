/**
 * The hashes `npm run verify` computes for every event, the same bytes as leafHash(eventLeaf()),
 * nodeHash and chainHash, with node:crypto's one-shot hash() over one reused buffer: a hash object
 * per call (createHash, createHmac) costs more than the hashing of an event's few hundred bytes,
 * and a re-hash of millions of events is all calls. The leaf's bytes still come from encodeLeaf
 * and the chain's from canonicalEvent, so each format lives once; test/integrity checks every
 * function here against its reference.
 */
import { hash } from 'node:crypto';
import { encodeLeaf } from '../../verifier/leaf.js';
import { canonicalEvent, type ChainedFields } from './chain.js';

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
};

export function createScratchHasher(secret: Buffer = Buffer.alloc(0)): ScratchHasher {
  let scratch = Buffer.allocUnsafe(4096);
  /** The scratch buffer, grown to hold at least `bytes`. */
  const room = (bytes: number): Buffer => {
    if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, scratch.length * 2));
    return scratch;
  };
  const node = Buffer.allocUnsafe(1 + 2 * HASH_BYTES);
  node[0] = 0x01;
  // HMAC (RFC 2104): H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ message)), K the secret padded to a block.
  const key = Buffer.alloc(BLOCK);
  (secret.length > BLOCK ? hash('sha256', secret, 'buffer') : secret).copy(key);
  const innerPad = Buffer.from(key.map((byte) => byte ^ 0x36));
  const outer = Buffer.allocUnsafe(BLOCK + HASH_BYTES);
  Buffer.from(key.map((byte) => byte ^ 0x5c)).copy(outer);

  return {
    leafHash(event, salt) {
      // The data commitment: SHA-256(salt ‖ data text).
      const dataBytes = Buffer.byteLength(event.dataJson, 'utf8');
      let buffer = room(salt.length + dataBytes);
      buffer.set(salt, 0);
      buffer.write(event.dataJson, salt.length, 'utf8');
      const dataSha256 = hash('sha256', buffer.subarray(0, salt.length + dataBytes), 'buffer');
      const { id, timestampMs, userId, eventType, keyName } = event;
      const leaf = encodeLeaf({ id, timestampMs, userId, eventType, keyName, dataSha256 });
      // The leaf hash: SHA-256(0x00 ‖ leaf).
      buffer = room(1 + leaf.length);
      buffer[0] = 0x00;
      buffer.set(leaf, 1);
      return hash('sha256', buffer.subarray(0, 1 + leaf.length), 'buffer');
    },
    nodeHash(left, right) {
      node.set(left, 1);
      node.set(right, 1 + HASH_BYTES);
      return hash('sha256', node, 'buffer');
    },
    chainHash(previous, event) {
      const canonical = canonicalEvent(event);
      const buffer = room(BLOCK + previous.length + canonical.length);
      buffer.set(innerPad, 0);
      buffer.set(previous, BLOCK);
      buffer.set(canonical, BLOCK + previous.length);
      hash('sha256', buffer.subarray(0, BLOCK + previous.length + canonical.length), 'buffer').copy(outer, BLOCK);
      return hash('sha256', outer, 'buffer');
    },
  };
}
