/**
 * Reading an event's leaf (version 1, laid out in verifier/leaf.ts) and its data commitment, with
 * DataView, TextDecoder and WebCrypto in place of Buffer and node:crypto.
 */
import { sha256, utf8 } from './bytes.js';

const LEAF_VERSION = 1;

export type LeafFields = {
  id: string;
  timestampMs: number;
  userId: string;
  eventType: string;
  keyName: string | null;
  dataSha256: Uint8Array;
};

/** SHA-256(salt ‖ data): what a leaf holds in place of the data itself. */
export function dataCommitment(salt: Uint8Array, dataJson: string): Promise<Uint8Array> {
  return sha256(salt, utf8(dataJson));
}

// fatal: bytes that are not UTF-8 are refused, as verifier/leaf.ts refuses them; ignoreBOM: a
// leading byte order mark is part of the field, as it is to Buffer's decoder.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads a leaf's fields back, or throws an Error saying why the bytes are not a version 1 leaf. */
export function decodeLeaf(bytes: Uint8Array): LeafFields {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number): void => {
    if (at + n > bytes.length) throw new Error('the leaf is cut short');
  };
  const text = (): string => {
    need(4);
    const length = view.getUint32(at);
    at += 4;
    need(length);
    let value: string;
    try {
      value = decoder.decode(bytes.subarray(at, at + length));
    } catch {
      throw new Error('the leaf holds a field that is not UTF-8');
    }
    at += length;
    return value;
  };
  need(1);
  const version = view.getUint8(at++);
  if (version !== LEAF_VERSION) throw new Error(`the leaf is version ${version}, not ${LEAF_VERSION}`);
  const id = text();
  need(8);
  const timestamp = view.getBigUint64(at);
  at += 8;
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('the leaf\'s timestamp is out of range');
  const userId = text();
  const eventType = text();
  need(1);
  const hasKeyName = view.getUint8(at++);
  if (hasKeyName > 1) throw new Error('the leaf\'s key-name flag is neither 0 nor 1');
  const keyName = hasKeyName === 1 ? text() : null;
  need(32);
  const dataSha256 = bytes.slice(at, at + 32);
  at += 32;
  if (at !== bytes.length) throw new Error('the leaf has bytes after its data commitment');
  return { id, timestampMs: Number(timestamp), userId, eventType, keyName, dataSha256 };
}
