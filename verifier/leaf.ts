/**
 * The bytes of one event's leaf in the Merkle tree, version 1. Every field is written with its
 * length, so no field can run into the next; integers are big-endian.
 *
 *   u8   version = 1
 *   u32  byte length of id,         then the event's id (UTF-8)
 *   u64  timestamp, in milliseconds since 1970-01-01T00:00:00Z
 *   u32  byte length of user_id,    then user_id (UTF-8)
 *   u32  byte length of event_type, then event_type (UTF-8)
 *   u8   1 when the name of the API key that wrote it is known (0 for events from before names were
 *        kept, and nothing follows), then u32 byte length of the key name, then the name (UTF-8)
 *   32   data commitment: SHA-256(salt ‖ the event's `data` as stored, UTF-8), the salt being 16
 *        random bytes kept beside the event (so that a small value cannot be guessed from its hash,
 *        and so that the data can be erased later while the leaf, and every proof, stays valid)
 */
import { createHash } from 'node:crypto';

export const LEAF_VERSION = 1;
export const SALT_BYTES = 16;

export type LeafFields = {
  id: string;
  timestampMs: number;
  userId: string;
  eventType: string;
  keyName: string | null;
  /** SHA-256(salt ‖ data text), see dataCommitment. */
  dataSha256: Buffer;
};

/** SHA-256(salt ‖ data): what a leaf holds in place of the data itself. */
export function dataCommitment(salt: Uint8Array, dataJson: string): Buffer {
  return createHash('sha256').update(salt).update(dataJson, 'utf8').digest();
}

export function encodeLeaf(fields: LeafFields): Buffer {
  const id = Buffer.from(fields.id, 'utf8');
  const userId = Buffer.from(fields.userId, 'utf8');
  const eventType = Buffer.from(fields.eventType, 'utf8');
  const keyName = fields.keyName === null ? undefined : Buffer.from(fields.keyName, 'utf8');
  if (fields.dataSha256.length !== 32) throw new Error('the data commitment must be 32 bytes');
  if (!Number.isSafeInteger(fields.timestampMs) || fields.timestampMs < 0) throw new Error('the timestamp must be a whole number of milliseconds from 1970');
  const size = 1 + 4 + id.length + 8 + 4 + userId.length + 4 + eventType.length + 1 + (keyName === undefined ? 0 : 4 + keyName.length) + 32;
  const leaf = Buffer.allocUnsafe(size);
  let at = leaf.writeUInt8(LEAF_VERSION, 0);
  at = writeText(leaf, at, id);
  at = leaf.writeBigUInt64BE(BigInt(fields.timestampMs), at);
  at = writeText(leaf, at, userId);
  at = writeText(leaf, at, eventType);
  at = leaf.writeUInt8(keyName === undefined ? 0 : 1, at);
  if (keyName !== undefined) at = writeText(leaf, at, keyName);
  fields.dataSha256.copy(leaf, at);
  return leaf;
}

/** Reads a leaf's fields back, or throws an Error saying why the bytes are not a version 1 leaf. */
export function decodeLeaf(leaf: Uint8Array): LeafFields {
  const bytes = Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength);
  let at = 0;
  const need = (n: number): void => {
    if (at + n > bytes.length) throw new Error('the leaf is cut short');
  };
  const text = (): string => {
    need(4);
    const length = bytes.readUInt32BE(at);
    at += 4;
    need(length);
    const value = bytes.toString('utf8', at, at + length);
    if (Buffer.byteLength(value, 'utf8') !== length) throw new Error('the leaf holds a field that is not UTF-8');
    at += length;
    return value;
  };
  need(1);
  const version = bytes.readUInt8(at++);
  if (version !== LEAF_VERSION) throw new Error(`the leaf is version ${version}, not ${LEAF_VERSION}`);
  const id = text();
  need(8);
  const timestamp = bytes.readBigUInt64BE(at);
  at += 8;
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('the leaf\'s timestamp is out of range');
  const userId = text();
  const eventType = text();
  need(1);
  const hasKeyName = bytes.readUInt8(at++);
  if (hasKeyName > 1) throw new Error('the leaf\'s key-name flag is neither 0 nor 1');
  const keyName = hasKeyName === 1 ? text() : null;
  need(32);
  const dataSha256 = Buffer.from(bytes.subarray(at, at + 32));
  at += 32;
  if (at !== bytes.length) throw new Error('the leaf has bytes after its data commitment');
  return { id, timestampMs: Number(timestamp), userId, eventType, keyName, dataSha256 };
}

function writeText(leaf: Buffer, at: number, text: Buffer): number {
  const next = leaf.writeUInt32BE(text.length, at);
  return next + text.copy(leaf, next);
}
