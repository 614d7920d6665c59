/**
 * C2SP signed notes (c2sp.org/signed-note): a text, a blank line, and one line per signature,
 * `— <key name> base64(4-byte key ID ‖ signature)`. Two kinds of Ed25519 signature are used here:
 * the log's own (algorithm 0x01, over the text) and a witness's timestamped cosignature
 * (c2sp.org/tlog-cosignature, algorithm 0x04, over `cosignature/v1`, `time <t>` and the text).
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { ed25519PublicKey } from './ed25519.js';

export const ED25519 = 0x01;
export const COSIGNATURE_V1 = 0x04;

/** A public key as a verifier is told it: its name, its algorithm, its raw bytes. */
export type VerifierKey = { name: string; algorithm: number; keyId: Buffer; publicKey: Buffer; key: KeyObject };

export type NoteSignature = { name: string; keyId: Buffer; signature: Buffer };

export type Note = { text: string; signatures: NoteSignature[] };

const DASH = '\u2014 ';

/** SHA-256(name ‖ "\n" ‖ algorithm ‖ public key)[:4]. */
export function keyId(name: string, algorithm: number, publicKey: Uint8Array): Buffer {
  return createHash('sha256').update(name, 'utf8').update('\n').update(Buffer.from([algorithm])).update(publicKey).digest().subarray(0, 4);
}

/** The verifier key `<name>+<key ID, hex>+<base64(algorithm ‖ public key)>`. */
export function formatVerifierKey(name: string, algorithm: number, publicKey: Uint8Array): string {
  return `${name}+${keyId(name, algorithm, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([algorithm]), publicKey]).toString('base64')}`;
}

/** Reads a verifier key, or throws an Error saying why it is not one. */
export function parseVerifierKey(text: string): VerifierKey {
  // The base64 may hold plus signs; the name and the key ID cannot.
  const parts = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(text.trim());
  if (parts === null) throw new Error('a verifier key is <name>+<key ID>+<base64 key>');
  const [, name, hash, encoded] = parts as unknown as [string, string, string, string];
  if (!isKeyName(name)) throw new Error('the key name is empty or holds a space, a plus sign or a control character');
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new Error('the key ID is not 8 hexadecimal digits');
  const material = strictBase64(encoded);
  if (material === undefined || material.length !== 33) throw new Error('the key is not base64 of an algorithm byte and 32 bytes');
  const algorithm = material[0]!;
  if (algorithm !== ED25519 && algorithm !== COSIGNATURE_V1) throw new Error(`the key's algorithm ${algorithm} is neither Ed25519 (1) nor a cosignature (4)`);
  const publicKey = material.subarray(1);
  const id = keyId(name, algorithm, publicKey);
  if (id.toString('hex') !== hash) throw new Error('the key ID does not match the name and the key');
  return { name, algorithm, keyId: id, publicKey, key: ed25519PublicKey(publicKey) };
}

/** Splits a signed note into its text and its signature lines, or throws an Error saying why it is not one. */
export function parseNote(note: string): Note {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('it is not a signed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new Error('the last signature line does not end with a line break');
  const signatures = block.slice(0, -1).split('\n').map(parseSignatureLine);
  return { text, signatures };
}

export function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(DASH)) throw new Error(`a signature line begins with an em dash and a space: ${JSON.stringify(line.slice(0, 40))}`);
  const rest = line.slice(DASH.length);
  const space = rest.lastIndexOf(' ');
  const name = rest.slice(0, space);
  const bytes = space < 0 ? undefined : strictBase64(rest.slice(space + 1));
  if (!isKeyName(name) || bytes === undefined || bytes.length < 5) throw new Error(`a signature line is "— <key name> <base64>": ${JSON.stringify(line.slice(0, 40))}`);
  return { name, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) };
}

export function formatSignatureLine(name: string, id: Uint8Array, signature: Uint8Array): string {
  return `${DASH}${name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
}

/** The log's signature line over `text` (a note's text, ending in a line break). */
export function signNote(text: string, name: string, privateKey: KeyObject, publicKey: Uint8Array): string {
  return formatSignatureLine(name, keyId(name, ED25519, publicKey), sign(null, Buffer.from(text, 'utf8'), privateKey));
}

/** Throws unless `note` carries a valid signature by `key` (algorithm 0x01) over its text. */
export function verifyNoteSignature(note: Note, key: VerifierKey): void {
  if (key.algorithm !== ED25519) throw new Error(`the key ${key.name} is a cosigner's, not a log's`);
  const mine = signaturesBy(note, key);
  if (mine.length === 0) throw new Error(`it carries no signature by the key ${key.name}+${key.keyId.toString('hex')}`);
  for (const { signature } of mine) {
    if (!verify(null, Buffer.from(note.text, 'utf8'), key.key, signature)) throw new Error(`its signature by ${key.name} does not verify: the text was changed, or signed by another key`);
  }
}

/** The message a witness signs: `cosignature/v1`, `time <t>`, then the checkpoint's text. */
export function cosignedMessage(text: string, timestamp: bigint): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${text}`, 'utf8');
}

/** A witness's cosignature line over a checkpoint's text, at `timestamp` (seconds since 1970). */
export function cosign(text: string, name: string, privateKey: KeyObject, publicKey: Uint8Array, timestamp: bigint): string {
  const stamped = Buffer.alloc(8);
  stamped.writeBigUInt64BE(timestamp);
  const signature = sign(null, cosignedMessage(text, timestamp), privateKey);
  return formatSignatureLine(name, keyId(name, COSIGNATURE_V1, publicKey), Buffer.concat([stamped, signature]));
}

/** Throws unless `signature` is a valid cosignature by `key` (algorithm 0x04) over `text`; returns its time. */
export function verifyCosignature(text: string, signature: NoteSignature, key: VerifierKey): bigint {
  if (key.algorithm !== COSIGNATURE_V1) throw new Error(`the key ${key.name} is not a cosigner's (algorithm 4)`);
  if (signature.name !== key.name || !signature.keyId.equals(key.keyId)) throw new Error(`the cosignature is not by ${key.name}`);
  if (signature.signature.length !== 8 + 64) throw new Error('a cosignature is 8 bytes of time and 64 of signature');
  const timestamp = signature.signature.readBigUInt64BE(0);
  if (timestamp >= 2n ** 63n) throw new Error('the cosignature\'s time is out of range');
  if (!verify(null, cosignedMessage(text, timestamp), key.key, signature.signature.subarray(8))) {
    throw new Error(`the cosignature by ${key.name} does not verify`);
  }
  return timestamp;
}

/** The signature lines of `note` that name `key` and carry its key ID. */
export function signaturesBy(note: Note, key: VerifierKey): NoteSignature[] {
  return note.signatures.filter((s) => s.name === key.name && s.keyId.equals(key.keyId));
}

function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\p{Cc}]/u.test(name);
}

/** Standard base64 with its padding, nothing else (Buffer.from skips what it cannot read). */
function strictBase64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

export { strictBase64 };
