import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const SCOPES = ['ingest', 'read', 'admin'] as const;
/** ingest: POST only; read: GET only; admin: both, and the integrity endpoint. */
export type Scope = (typeof SCOPES)[number];

/** One key as the keys file keeps it: never the key itself, only its SHA-256. */
export type KeyRecord = { name: string; scope: Scope; sha256: string; createdAt: string };

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function isScope(value: unknown): value is Scope {
  return SCOPES.includes(value as Scope);
}

export function isKeyName(value: unknown): value is string {
  return typeof value === 'string' && NAME.test(value);
}

/** A new key: 32 random bytes, base64url, with a prefix that makes a leaked one easy to grep for. */
export function generateKey(): string {
  return `adt_${randomBytes(32).toString('base64url')}`;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The records in the keys file; none when it does not exist. Throws on a malformed file. */
export function readKeysFile(path: string): KeyRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const parsed = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(parsed.keys)) throw new Error(`${path} has no "keys" list`);
  return parsed.keys.map((entry: unknown, i) => {
    const record = entry as Record<string, unknown>;
    if (!isKeyName(record.name) || !isScope(record.scope) || typeof record.sha256 !== 'string'
      || !/^[0-9a-f]{64}$/.test(record.sha256) || typeof record.created_at !== 'string') {
      throw new Error(`${path}: key ${i + 1} is malformed`);
    }
    return { name: record.name, scope: record.scope, sha256: record.sha256, createdAt: record.created_at };
  });
}

/** Replaces the keys file atomically (write beside it, then rename), readable by its owner only. */
export function writeKeysFile(path: string, records: readonly KeyRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const keys = records.map(({ name, scope, sha256, createdAt }) => ({ name, scope, sha256, created_at: createdAt }));
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ keys }, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, path);
}
