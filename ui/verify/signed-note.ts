/**
 * C2SP signed notes (c2sp.org/signed-note) and verifier keys, read and checked as
 * verifier/signed-note.ts does, with WebCrypto's Ed25519 in place of node:crypto's.
 */
import { concat, equalBytes, hex, sha256, strictBase64, utf8 } from './bytes.js';

export const ED25519 = 0x01;
export const COSIGNATURE_V1 = 0x04;

/** WebCrypto's CryptoKey, named without the DOM's types (the project compiles against Node's). */
type PublicKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export type VerifierKey = { name: string; algorithm: number; keyId: Uint8Array; key: PublicKey };

export type NoteSignature = { name: string; keyId: Uint8Array; signature: Uint8Array };

export type Note = { text: string; signatures: NoteSignature[] };

const DASH = '\u2014 ';

/** SHA-256(name ‖ "\n" ‖ algorithm ‖ public key)[:4]. */
export async function keyId(name: string, algorithm: number, publicKey: Uint8Array): Promise<Uint8Array> {
  return (await sha256(utf8(`${name}\n`), new Uint8Array([algorithm]), publicKey)).subarray(0, 4);
}

/** Reads a verifier key `<name>+<key ID, hex>+<base64(algorithm ‖ public key)>`, or throws an Error saying why it is not one. */
export async function parseVerifierKey(text: string): Promise<VerifierKey> {
  // Split at the first two plus signs only: base64 has plus signs of its own.
  const match = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(text.trim());
  if (match === null) throw new Error('a verifier key is <name>+<key ID>+<base64 key>');
  const [, name = '', hash = '', encoded = ''] = match;
  if (!isKeyName(name)) throw new Error('the key name is empty or holds a space, a plus sign or a control character');
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new Error('the key ID is not 8 hexadecimal digits');
  const material = strictBase64(encoded);
  if (material === undefined || material.length !== 33) throw new Error('the key is not base64 of an algorithm byte and 32 bytes');
  const algorithm = material[0]!;
  if (algorithm !== ED25519 && algorithm !== COSIGNATURE_V1) throw new Error(`the key's algorithm ${algorithm} is neither Ed25519 (1) nor a cosignature (4)`);
  const publicKey = material.slice(1);
  const id = await keyId(name, algorithm, publicKey);
  if (hex(id) !== hash) throw new Error('the key ID does not match the name and the key');
  return { name, algorithm, keyId: id, key: await importEd25519(publicKey) };
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

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(DASH)) throw new Error(`a signature line begins with an em dash and a space: ${JSON.stringify(line.slice(0, 40))}`);
  const rest = line.slice(DASH.length);
  const space = rest.lastIndexOf(' ');
  const name = rest.slice(0, space);
  const bytes = space < 0 ? undefined : strictBase64(rest.slice(space + 1));
  if (!isKeyName(name) || bytes === undefined || bytes.length < 5) throw new Error(`a signature line is "— <key name> <base64>": ${JSON.stringify(line.slice(0, 40))}`);
  return { name, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) };
}

/** Throws unless `note` carries a valid signature by `key` (algorithm 0x01) over its text. */
export async function verifyNoteSignature(note: Note, key: VerifierKey): Promise<void> {
  if (key.algorithm !== ED25519) throw new Error(`the key ${key.name} is a cosigner's, not a log's`);
  const mine = note.signatures.filter((s) => s.name === key.name && equalBytes(s.keyId, key.keyId));
  if (mine.length === 0) throw new Error(`it carries no signature by the key ${key.name}+${hex(key.keyId)}`);
  for (const { signature } of mine) {
    // concat copies each into a Uint8Array of its own ArrayBuffer, the BufferSource WebCrypto's types ask for.
    if (!await crypto.subtle.verify('Ed25519', key.key, concat([signature]), concat([utf8(note.text)]))) {
      throw new Error(`its signature by ${key.name} does not verify: the text was changed, or signed by another key`);
    }
  }
}

/**
 * The latest time a witness's cosignature line (c2sp.org/tlog-cosignature: 8 bytes of seconds
 * since 1970, then 64 of signature) states, as an ISO 8601 instant; undefined when none does. Not
 * checked: the page holds no witness's key, so this is what a witness says, no more.
 */
export function latestCosignatureTime(note: Note, logKey: VerifierKey): string | undefined {
  let latest: bigint | undefined;
  for (const { name, signature } of note.signatures) {
    if (name === logKey.name || signature.length !== 8 + 64) continue;
    const seconds = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
    if (seconds * 1000n > BigInt(MAX_DATE_MS)) continue;
    if (latest === undefined || seconds > latest) latest = seconds;
  }
  return latest === undefined ? undefined : new Date(Number(latest) * 1000).toISOString();
}

/** The largest time a Date holds (ECMAScript §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

/**
 * WebCrypto's Ed25519 (Chrome 137, Firefox 129, Safari 17, Node 20): a browser without it cannot
 * check the log's signature, and says so rather than pretending.
 */
async function importEd25519(publicKey: Uint8Array): Promise<PublicKey> {
  try {
    return await crypto.subtle.importKey('raw', concat([publicKey]), { name: 'Ed25519' }, false, ['verify']);
  } catch (error) {
    if ((error as Error).name === 'NotSupportedError') {
      throw new UnsupportedBrowser('this browser cannot check Ed25519 signatures (its WebCrypto has no Ed25519): use a current browser, or npm run verify-event');
    }
    throw new Error(`the key is not an Ed25519 public key (${(error as Error).message})`);
  }
}

/** The browser lacks what a check needs: nothing is known about the log. */
export class UnsupportedBrowser extends Error {
  override name = 'UnsupportedBrowser';
}

function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\p{Cc}]/u.test(name);
}
