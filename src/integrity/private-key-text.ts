/**
 * An Ed25519 private key in the signed-note form Go's note.GenerateKey writes:
 * `PRIVATE+KEY+<name>+<key ID, hex>+<base64(algorithm ‖ 32-byte seed)>`, one line. The log's
 * signing key (algorithm 1) and a witness's cosigning key (algorithm 4) are both kept this way,
 * so the name a key signs under travels with it.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ed25519PrivateKey, rawPublicKey } from '../../verifier/ed25519.js';
import { keyId } from '../../verifier/signed-note.js';
import type { SecretFormat } from './secret-file.js';

/** What such a file holds, exactly (33 bytes are 44 base64 characters, with no padding). */
export const PRIVATE_KEY_FORMAT: SecretFormat = {
  pattern: /^PRIVATE\+KEY\+[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/,
  description: 'PRIVATE+KEY+<name>+<8 hex digits>+<base64 of 33 bytes> and a line break',
};

/** The text of a new key named `name` for `algorithm`; the caller has checked the name. */
export function newPrivateKeyText(name: string, algorithm: number): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const id = keyId(name, algorithm, rawPublicKey(privateKey)).toString('hex');
  return `PRIVATE+KEY+${name}+${id}+${Buffer.concat([Buffer.from([algorithm]), seed]).toString('base64')}\n`;
}

/**
 * Reads `text` (already matched against PRIVATE_KEY_FORMAT) as a key of `algorithm`, or throws an
 * Error saying why not: another algorithm (`wrongKind` says what it is then), or a key ID that does
 * not match the name and the key (the file was edited).
 */
export function readPrivateKeyText(text: string, algorithm: number, path: string, wrongKind: string): { name: string; privateKey: KeyObject; publicKey: Buffer } {
  // The base64 may hold plus signs too: the name and the key ID cannot.
  const [, name, id, encoded] = /^PRIVATE\+KEY\+([^\s+]+)\+([0-9a-f]{8})\+(\S+)$/.exec(text.trimEnd()) as unknown as [string, string, string, string];
  const material = Buffer.from(encoded, 'base64');
  if (material[0] !== algorithm) throw new Error(`${path} ${wrongKind} (algorithm ${material[0]}, not ${algorithm})`);
  const privateKey = ed25519PrivateKey(material.subarray(1));
  const publicKey = rawPublicKey(privateKey);
  if (keyId(name, algorithm, publicKey).toString('hex') !== id) throw new Error(`${path}: the key ID does not match the key's name and key: the file was edited`);
  return { name, privateKey, publicKey };
}
