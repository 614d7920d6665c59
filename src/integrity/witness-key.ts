/**
 * A witness's own Ed25519 key, kept in a file in the signed-note private key form
 * `PRIVATE+KEY+<name>+<key ID, hex>+<base64(0x04 ‖ 32-byte seed)>`: algorithm 4 is the
 * c2sp.org/tlog-cosignature kind, so the key can only ever make timestamped cosignatures, never a
 * signature a log's verifier would take for the log's own.
 */
import { hostname } from 'node:os';
import { COSIGNATURE_V1, cosign, formatVerifierKey } from '../../verifier/signed-note.js';
import { newPrivateKeyText, PRIVATE_KEY_FORMAT, readPrivateKeyText } from './private-key-text.js';
import { createSecretFile, readSecretFile } from './secret-file.js';

export type WitnessKey = {
  name: string;
  /** `<name>+<key ID>+<base64(0x04 ‖ public key)>`: what the log's operator puts in AUDITOR_WITNESS_KEYS. */
  verifierKey: string;
  /** The cosignature line over a checkpoint's text, stating `timestamp` (seconds since 1970). */
  cosign(text: string, timestamp: bigint): string;
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
  let text = readSecretFile(path, PRIVATE_KEY_FORMAT);
  let created = false;
  if (text === undefined) {
    // false: another process made it first; either way the file now holds the one key.
    created = createSecretFile(path, newWitnessKeyText(name ?? defaultWitnessName()));
    text = readSecretFile(path, PRIVATE_KEY_FORMAT)!;
  }
  const key = parseWitnessKey(text, path);
  if (name !== undefined && name !== key.name) {
    throw new Error(`--name is "${name}" but the key in ${path} is named "${key.name}": a witness keeps its name; leave out --name, or use another --signing-key file`);
  }
  return { key, created };
}

export function newWitnessKeyText(name: string): string {
  if (!/^[^\s+\p{Cc}]+$/u.test(name)) throw new Error(`a witness's name has no spaces or plus signs, such as witness.example/w1: "${name}"`);
  return newPrivateKeyText(name, COSIGNATURE_V1);
}

function parseWitnessKey(text: string, path: string): WitnessKey {
  const { name, privateKey, publicKey } = readPrivateKeyText(text, COSIGNATURE_V1, path, 'does not hold a witness\'s key: is it a log\'s signing key?');
  return {
    name,
    verifierKey: formatVerifierKey(name, COSIGNATURE_V1, publicKey),
    cosign: (checkpointText, timestamp) => cosign(checkpointText, name, privateKey, publicKey, timestamp),
  };
}
