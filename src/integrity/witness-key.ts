/**
 * A witness's own Ed25519 key, kept in a file in the signed-note private key form
 * `PRIVATE+KEY+<name>+<key ID, hex>+<base64(0x04 ‖ 32-byte seed)>`: algorithm 4 is the
 * c2sp.org/tlog-cosignature kind, so the key can only ever make timestamped cosignatures, never a
 * signature a log's verifier would take for the log's own.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { ed25519PrivateKey, rawPublicKey } from '../../verifier/ed25519.js';
import { COSIGNATURE_V1, cosign, formatVerifierKey, keyId } from '../../verifier/signed-note.js';
import { createSecretFile, readSecretFile, type SecretFormat } from './secret-file.js';

export type WitnessKey = {
  name: string;
  /** `<name>+<key ID>+<base64(0x04 ‖ public key)>`: what the log's operator puts in AUDITOR_WITNESS_KEYS. */
  verifierKey: string;
  /** The cosignature line over a checkpoint's text, stating `timestamp` (seconds since 1970). */
  cosign(text: string, timestamp: bigint): string;
};

const WITNESS_KEY_FORMAT: SecretFormat = {
  pattern: /^PRIVATE\+KEY\+[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/,
  description: 'PRIVATE+KEY+<name>+<8 hex digits>+<base64 of 33 bytes> and a line break',
};

/** What a witness is named when its key is made without --name: this machine's. */
export function defaultWitnessName(): string {
  return `${hostname()}/witness`;
}

/**
 * The key in `path`, made there (named `name`, owner-only, written whole) when there is none.
 * With `name` given, an existing key must bear it: a witness's name is part of its key.
 */
export function loadWitnessKey(path: string, name: string | undefined): { key: WitnessKey; created: boolean } {
  let text = readSecretFile(path, WITNESS_KEY_FORMAT);
  let created = false;
  if (text === undefined) {
    // false: another process made it first; either way the file now holds the one key.
    created = createSecretFile(path, newWitnessKeyText(name ?? defaultWitnessName()));
    text = readSecretFile(path, WITNESS_KEY_FORMAT)!;
  }
  const key = parseWitnessKey(text, path);
  if (name !== undefined && name !== key.name) {
    throw new Error(`--name is "${name}" but the key in ${path} is named "${key.name}": a witness keeps its name; leave out --name, or use another --signing-key file`);
  }
  return { key, created };
}

export function newWitnessKeyText(name: string): string {
  if (!/^[^\s+\p{Cc}]+$/u.test(name)) throw new Error(`a witness's name has no spaces or plus signs, such as witness.example/w1: "${name}"`);
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const id = keyId(name, COSIGNATURE_V1, rawPublicKey(privateKey)).toString('hex');
  return `PRIVATE+KEY+${name}+${id}+${Buffer.concat([Buffer.from([COSIGNATURE_V1]), seed]).toString('base64')}\n`;
}

function parseWitnessKey(text: string, path: string): WitnessKey {
  // The base64 may hold plus signs too: the name and the key ID cannot.
  const [, name, id, encoded] = /^PRIVATE\+KEY\+([^\s+]+)\+([0-9a-f]{8})\+(\S+)$/.exec(text.trimEnd()) as unknown as [string, string, string, string];
  const material = Buffer.from(encoded, 'base64');
  if (material[0] !== COSIGNATURE_V1) throw new Error(`${path} does not hold a witness's key (algorithm ${material[0]}, not 4): is it a log's signing key?`);
  const privateKey: KeyObject = ed25519PrivateKey(material.subarray(1));
  const publicKey = rawPublicKey(privateKey);
  if (keyId(name, COSIGNATURE_V1, publicKey).toString('hex') !== id) throw new Error(`${path}: the key ID does not match the key's name and key: the file was edited`);
  return {
    name,
    verifierKey: formatVerifierKey(name, COSIGNATURE_V1, publicKey),
    cosign: (checkpointText, timestamp) => cosign(checkpointText, name, privateKey, publicKey, timestamp),
  };
}
