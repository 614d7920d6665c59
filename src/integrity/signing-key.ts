/**
 * The log's Ed25519 signing key, kept in a file in the signed-note private key form
 * `PRIVATE+KEY+<name>+<key ID, hex>+<base64(0x01 ‖ 32-byte seed)>` (what Go's note.GenerateKey
 * writes), so that the name the checkpoints are signed under travels with the key. The name is
 * the log's origin.
 */
import { ED25519, formatVerifierKey, parseNote, parseVerifierKey, signNote, verifyNoteSignature } from '../../verifier/signed-note.js';
import { newPrivateKeyText, PRIVATE_KEY_FORMAT, readPrivateKeyText } from './private-key-text.js';
import { createSecretFile, readSecretFile } from './secret-file.js';

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
  let text = readSecretFile(path, PRIVATE_KEY_FORMAT);
  if (text === undefined) {
    if (!create) throw new Error(`no signing key at ${path}: create one with npm run signing-key -- --origin <name> --out ${path}`);
    createSecretFile(path, newSigningKeyText(origin ?? DEFAULT_ORIGIN));
    text = readSecretFile(path, PRIVATE_KEY_FORMAT)!;
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
  return newPrivateKeyText(name, ED25519);
}

function parseSigningKey(text: string, path: string): SigningKey {
  const { name, privateKey, publicKey } = readPrivateKeyText(text, ED25519, path, 'does not hold a log\'s signing key: is it a witness\'s?');
  return {
    name,
    verifierKey: formatVerifierKey(name, ED25519, publicKey),
    sign: (note) => signNote(note, name, privateKey, publicKey),
    restoreTo: (to) => void createSecretFile(to, text),
  };
}
