import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { createSecretFile, readSecretFile, type SecretFormat } from './secret-file.js';

/** The chain's secret file, kept beside the database it protects. */
export function chainSecretPath(dbPath: string): string {
  return join(dirname(dbPath), 'chain.secret');
}

/** 32 random bytes as base64url, and a line break: exactly what resolveChainSecret writes. */
const CHAIN_SECRET_FORMAT: SecretFormat = { pattern: /^[A-Za-z0-9_-]{43}\n$/, description: '43 base64url characters and a line break' };

/**
 * The secret that keys the chain: `configured` (AUDITOR_CHAIN_SECRET) when set; otherwise the one
 * kept beside the database, generated on first use (32 random bytes, owner-only permissions).
 * Losing it makes the chain unverifiable, never the events unreadable.
 */
export function resolveChainSecret(configured: string | undefined, dbPath: string): Buffer {
  if (configured !== undefined) return Buffer.from(configured, 'utf8');
  const path = chainSecretPath(dbPath);
  const existing = readSecretFile(path, CHAIN_SECRET_FORMAT);
  if (existing !== undefined) return toKey(existing);
  // false: another process created it first; either way, the file now holds the one secret.
  createSecretFile(path, randomBytes(32).toString('base64url') + '\n');
  return toKey(readSecretFile(path, CHAIN_SECRET_FORMAT)!);
}

/**
 * Writes `secret`, which this process read from the file beside the database, back to that file
 * when it is gone (the database's folder was removed under the running service): without it the
 * rescued events' chain could not be verified, and the next start would make a new secret.
 */
export function restoreChainSecret(dbPath: string, secret: Buffer): void {
  createSecretFile(chainSecretPath(dbPath), `${secret.toString('utf8')}\n`);
}

/** The secret for verifying: configured or kept, but never generated. */
export function findChainSecret(configured: string | undefined, dbPath: string): Buffer | undefined {
  if (configured !== undefined) return Buffer.from(configured, 'utf8');
  const kept = readSecretFile(chainSecretPath(dbPath), CHAIN_SECRET_FORMAT);
  return kept === undefined ? undefined : toKey(kept);
}

/** The chain has always been keyed with the secret's text, not the bytes it encodes. */
function toKey(contents: string): Buffer {
  return Buffer.from(contents.trimEnd(), 'utf8');
}
