/**
 * The log's Ed25519 signing key, kept in a file in the signed-note private key form
 * `PRIVATE+KEY+<name>+<key ID, hex>+<base64(0x01 ‖ 32-byte seed)>` (what Go's note.GenerateKey
 * writes), so that the name the checkpoints are signed under travels with the key. The name is
 * the log's origin.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ed25519PrivateKey, rawPublicKey } from '../../verifier/ed25519.js';
import { ED25519, formatVerifierKey, keyId, parseNote, parseVerifierKey, signNote, verifyNoteSignature } from '../../verifier/signed-note.js';
import { createSecretFile, readSecretFile, type SecretFormat } from './secret-file.js';

export type SigningKey = {
  /** The key's name: the log's origin. */
  name: string;
  /** `<name>+<key ID>+<base64 key>`: what anyone verifies checkpoints with. */
  verifierKey: string;
  /** The signature line of a note's text. */
  sign(text: string): string;
  /**
   * Writes the key back to `path` when the file is gone (the database's folder was removed under
   * the running service): without it the next start would sign with a new key, and no one could
   * tell the rescued log's checkpoints from a forgery. A method, so the key's text is never a value
   * anything could log.
   */
  restoreTo(path: string): void;
};

const SIGNING_KEY_FORMAT: SecretFormat = {
  pattern: /^PRIVATE\+KEY\+[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/,
  description: 'PRIVATE+KEY+<name>+<8 hex digits>+<base64 of 33 bytes> and a line break',
};

/**
 * Where a SQLite log keeps its signing key unless AUDITOR_SIGNING_KEY_FILE says otherwise: named
 * after the database, as a key belongs to one log (two logs in one folder never share one).
 */
export function signingKeyPath(dbPath: string): string {
  return `${dbPath}.signing.key`;
}

/**
 * The key in `path`, created there (named `origin`, owner-only) when `create` and there is none.
 * With `origin` given, the key must bear that name: a log's origin never changes under it.
 */
export function loadSigningKey(path: string, { origin, create }: { origin: string | undefined; create: boolean }): SigningKey {
  let text = readSecretFile(path, SIGNING_KEY_FORMAT);
  if (text === undefined) {
    if (!create) throw new Error(`no signing key at ${path}: create one with npm run signing-key -- --origin <name> --out ${path}`);
    createSecretFile(path, newSigningKeyText(origin ?? DEFAULT_ORIGIN));
    text = readSecretFile(path, SIGNING_KEY_FORMAT)!;
  }
  const key = parseSigningKey(text, path);
  if (origin !== undefined && origin !== key.name) {
    throw new Error(`AUDITOR_LOG_ORIGIN is "${origin}" but the signing key in ${path} is named "${key.name}": a log keeps one origin; unset it, or use a key of that name`);
  }
  return key;
}

/**
 * Throws unless the log's latest kept checkpoint (`note`) was signed by `key`: a log signed on
 * under another key would, to everyone holding its key, look forged from then on.
 */
export function requireSignedBy(note: string | undefined, key: SigningKey, where: string): void {
  if (note === undefined) return;
  try {
    verifyNoteSignature(parseNote(note), parseVerifierKey(key.verifierKey));
  } catch {
    throw new Error(`the log's latest checkpoint was not signed by the key in ${where} (${key.verifierKey}): `
      + 'give the service the key that signed its checkpoints (AUDITOR_SIGNING_KEY_FILE)');
  }
}

/** A log's origin when none is configured: what a key made on first start is named. */
export const DEFAULT_ORIGIN = 'auditor.localhost/log';

/** The text of a new signing key file named `name`. */
export function newSigningKeyText(name: string): string {
  if (!/^[^\s+]+$/.test(name)) throw new Error(`a log origin has no spaces or plus signs: "${name}"`);
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const id = keyId(name, ED25519, rawPublicKey(privateKey)).toString('hex');
  return `PRIVATE+KEY+${name}+${id}+${Buffer.concat([Buffer.from([ED25519]), seed]).toString('base64')}\n`;
}

function parseSigningKey(text: string, path: string): SigningKey {
  // The base64 may hold plus signs too: the name and the key ID cannot.
  const [, name, id, encoded] = /^PRIVATE\+KEY\+([^\s+]+)\+([0-9a-f]{8})\+(\S+)$/.exec(text.trimEnd()) as unknown as [string, string, string, string];
  const material = Buffer.from(encoded, 'base64');
  let privateKey: KeyObject;
  try {
    if (material[0] !== ED25519) throw new Error('it is not an Ed25519 key');
    privateKey = ed25519PrivateKey(material.subarray(1));
  } catch (error) {
    throw new Error(`${path} does not hold a usable signing key (${(error as Error).message})`);
  }
  const publicKey = rawPublicKey(privateKey);
  if (keyId(name, ED25519, publicKey).toString('hex') !== id) throw new Error(`${path}: the key ID does not match the key's name and key: the file was edited`);
  return {
    name,
    verifierKey: formatVerifierKey(name, ED25519, publicKey),
    sign: (note) => signNote(note, name, privateKey, publicKey),
    restoreTo: (to) => void createSecretFile(to, text),
  };
}
