import { randomFillSync } from 'node:crypto';
import { dataCommitment, encodeLeaf, SALT_BYTES } from '../../verifier/leaf.js';
import type { ChainedFields } from './chain.js';

/** An event's leaf in the Merkle tree (verifier/leaf.ts), its data committed to under `salt`. */
export function eventLeaf(event: ChainedFields, salt: Uint8Array): Buffer {
  const { id, timestampMs, userId, eventType, keyName, dataJson } = event;
  return encodeLeaf({ id, timestampMs, userId, eventType, keyName, dataSha256: dataCommitment(salt, dataJson) });
}

const POOL_SALTS = 256;
let pool = Buffer.alloc(0);
let taken = 0;

/** A fresh random salt, cut from a pool filled 256 salts at a time (one call to the system's source). */
export function newSalt(): Buffer {
  if (taken === pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SALTS * SALT_BYTES));
    taken = 0;
  }
  return pool.subarray(taken, (taken += SALT_BYTES));
}
