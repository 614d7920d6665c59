import { hash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const SCOPES = ['ingest', 'read', 'admin'] as const;
/** ingest: POST only; read: GET only; admin: both, and the integrity endpoint. */
export type Scope = (typeof SCOPES)[number];

declare const DIGEST: unique symbol;
/**
 * A key's SHA-256, in hex: the only form in which the service holds a key. A distinct type, so
 * that a key in plain text can be neither stored where a digest belongs nor looked up as one.
 */
export type KeyDigest = string & { readonly [DIGEST]: true };

/** One key as the keys file keeps it: never the key itself, only its SHA-256. */
export type KeyRecord = { name: string; scope: Scope; sha256: KeyDigest; createdAt: string };

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

/** The key's SHA-256, in hex: one-shot, as every request with a key pays for it (a Hash object cost 0.9 µs, this 0.25). */
export function hashKey(key: string): KeyDigest {
  return hash('sha256', key, 'hex') as KeyDigest;
}

function isKeyDigest(value: unknown): value is KeyDigest {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

/** The name events record when they were written with AUDITOR_API_KEY. */
export const ENV_KEY_NAME = 'AUDITOR_API_KEY';
/** The name an event records when it reached the store without a caller (no route lets one). */
export const NO_KEY_NAME = 'unknown';

/**
 * Names the service records itself: a key of that name would make its events, rate-limit bucket
 * and idempotency keys those of the service's own. Compared case-insensitively, so that no
 * `auditor_api_key` passes for the real one in a report.
 */
export function isReservedKeyName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === ENV_KEY_NAME.toLowerCase() || lower === NO_KEY_NAME.toLowerCase();
}

const RECORD_FIELDS = ['name', 'scope', 'sha256', 'created_at'];

/**
 * The records in the keys file; none when it does not exist. Throws, saying what is wrong, on
 * anything `writeKeysFile` would not have written: not JSON, properties other than `keys` and a
 * record's four, a malformed value, a duplicate name or digest, or a reserved name (unless
 * `allowReservedNames`, which lets `npm run keys -- revoke` remove one).
 */
export function readKeysFile(path: string, options: { allowReservedNames?: boolean } = {}): KeyRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  if (text.trim() === '') throw new Error('the file is empty; delete it, or restore it from a backup');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(parsed) || !sameMembers(parsed, ['keys']) || !Array.isArray(parsed.keys)) {
    throw new Error('expected an object with only a "keys" list, as npm run keys writes');
  }
  const names = new Set<string>();
  const digests = new Set<string>();
  return parsed.keys.map((entry: unknown, i) => {
    const where = `key ${i + 1}`;
    if (!isPlainObject(entry) || !sameMembers(entry, RECORD_FIELDS)) {
      throw new Error(`${where} must have exactly the properties ${RECORD_FIELDS.join(', ')}`);
    }
    const { name, scope, sha256, created_at: createdAt } = entry;
    if (!isKeyName(name)) throw new Error(`${where} has a malformed name`);
    if (!isScope(scope)) throw new Error(`${where} ("${name}") has scope ${JSON.stringify(scope)}, not one of ${SCOPES.join(', ')}`);
    if (!isKeyDigest(sha256)) throw new Error(`${where} ("${name}") has a malformed sha256`);
    if (typeof createdAt !== 'string' || !isIsoInstant(createdAt)) throw new Error(`${where} ("${name}") has a malformed created_at`);
    if (names.has(name)) throw new Error(`${where}: the name "${name}" is used twice`);
    if (digests.has(sha256)) throw new Error(`${where} ("${name}") has the same key as an earlier one`);
    if (!options.allowReservedNames && isReservedKeyName(name)) {
      throw new Error(`${where} is named "${name}", a name the service records itself; remove it with npm run keys -- revoke --name ${name}, and create that key again under another name`);
    }
    names.add(name);
    digests.add(sha256);
    return { name, scope, sha256, createdAt };
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameMembers(object: Record<string, unknown>, members: readonly string[]): boolean {
  const own = Object.keys(object);
  return own.length === members.length && members.every((member) => Object.hasOwn(object, member));
}

/** As `Date.prototype.toISOString` writes it, which is how `npm run keys` records a creation. */
function isIsoInstant(text: string): boolean {
  const time = Date.parse(text);
  return Number.isFinite(time) && new Date(time).toISOString() === text;
}

/** Replaces the keys file atomically (write beside it, then rename), readable by its owner only. */
export function writeKeysFile(path: string, records: readonly KeyRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const keys = records.map(({ name, scope, sha256, createdAt }) => ({ name, scope, sha256, created_at: createdAt }));
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ keys }, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, path);
}
