import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The chain's secret file, kept beside the database it protects. */
export function chainSecretPath(dbPath: string): string {
  return join(dirname(dbPath), 'chain.secret');
}

/**
 * The secret that keys the chain: `configured` (AUDITOR_CHAIN_SECRET) when set; otherwise the one
 * kept beside the database, generated on first use (32 random bytes, owner-only permissions).
 * Losing it makes the chain unverifiable, never the events unreadable.
 */
export function resolveChainSecret(configured: string | undefined, dbPath: string): Buffer {
  if (configured !== undefined) return Buffer.from(configured, 'utf8');
  const path = chainSecretPath(dbPath);
  const existing = readSecretFile(path);
  if (existing !== undefined) return existing;
  mkdirSync(dirname(path), { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(path, secret + '\n', { mode: 0o600, flag: 'wx' }); // never overwrite one
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readSecretFile(path)!;
}

/** The secret for verifying: configured or kept, but never generated. */
export function findChainSecret(configured: string | undefined, dbPath: string): Buffer | undefined {
  return configured !== undefined ? Buffer.from(configured, 'utf8') : readSecretFile(chainSecretPath(dbPath));
}

function readSecretFile(path: string): Buffer | undefined {
  try {
    return Buffer.from(readFileSync(path, 'utf8').trim(), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
