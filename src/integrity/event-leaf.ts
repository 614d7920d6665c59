import { hash, randomFillSync } from 'node:crypto';
import { dataCommitment, encodeLeaf, LEAF_VERSION, SALT_BYTES } from '../../verifier/leaf.js';
import { leafHash } from '../../verifier/merkle.js';
import type { ChainedFields } from './chain.js';

/** An event's leaf in the Merkle tree (verifier/leaf.ts), its data committed to under `salt`. */
export function eventLeaf(event: ChainedFields, salt: Uint8Array): Buffer {
  const { id, timestampMs, userId, eventType, keyName, dataJson } = event;
  return encodeLeaf({ id, timestampMs, userId, eventType, keyName, dataSha256: dataCommitment(salt, dataJson) });
}

/**
 * The hash of the leaf of an event whose payload was removed, rebuilt from its fields and the
 * data's commitment kept where its salt was. Throws when its fields cannot be a leaf.
 */
export function removedEventLeafHash(event: Omit<ChainedFields, 'dataJson'>, commitment: Buffer): Buffer {
  const { id, timestampMs, userId, eventType, keyName } = event;
  return leafHash(encodeLeaf({ id, timestampMs, userId, eventType, keyName, dataSha256: commitment }));
}

/**
 * leafHash(eventLeaf(event, salt)), made for the write path: the same bytes (the planner's
 * property tests hold it to eventLeaf), hashed one-shot, with two buffers per event instead of a
 * dozen objects. At a thousand events a commit, the garbage of the general path was most of the
 * tree's cost on ingest (bench/README.md).
 */
export function eventLeafHash(event: ChainedFields, salt: Uint8Array): Buffer {
  const dataBytes = Buffer.byteLength(event.dataJson, 'utf8');
  const salted = Buffer.allocUnsafe(SALT_BYTES + dataBytes);
  salted.set(salt, 0);
  salted.write(event.dataJson, SALT_BYTES, 'utf8');
  const commitment = hash('sha256', salted, 'buffer');

  const idBytes = Buffer.byteLength(event.id, 'utf8');
  const userBytes = Buffer.byteLength(event.userId, 'utf8');
  const typeBytes = Buffer.byteLength(event.eventType, 'utf8');
  const keyBytes = event.keyName === null ? -1 : Buffer.byteLength(event.keyName, 'utf8');
  // 0x00 (RFC 9162's leaf prefix), then the leaf exactly as encodeLeaf lays it out.
  const prefixed = Buffer.allocUnsafe(1 + 1 + 4 + idBytes + 8 + 4 + userBytes + 4 + typeBytes + 1 + (keyBytes < 0 ? 0 : 4 + keyBytes) + 32);
  let at = prefixed.writeUInt8(0x00, 0);
  at = prefixed.writeUInt8(LEAF_VERSION, at);
  at = writeText(prefixed, at, event.id, idBytes);
  at = prefixed.writeBigUInt64BE(BigInt(event.timestampMs), at);
  at = writeText(prefixed, at, event.userId, userBytes);
  at = writeText(prefixed, at, event.eventType, typeBytes);
  at = prefixed.writeUInt8(keyBytes < 0 ? 0 : 1, at);
  if (event.keyName !== null) at = writeText(prefixed, at, event.keyName, keyBytes);
  commitment.copy(prefixed, at);
  return hash('sha256', prefixed, 'buffer');
}

function writeText(into: Buffer, at: number, text: string, bytes: number): number {
  const next = into.writeUInt32BE(bytes, at);
  return next + into.write(text, next, 'utf8');
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
