import { statSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '../ops/logger.js';
import { ENV_KEY_NAME, readKeysFile, type KeyDigest, type Scope } from './keys-file.js';
import { createRateLimiter } from './rate-limiter.js';

/** Who is calling: the name of their key and what it may do. */
export type Caller = { keyName: string; scope: Scope };

export type KeyRegistry = {
  /** The caller whose key has this digest, if any. */
  find(digest: KeyDigest): Caller | undefined;
  close(): void;
};

/**
 * How often unknown keys may make the registry look at the keys file again: a stat costs about
 * 4 µs, so a flood of wrong keys spends at most ~2 ms a second on it, while a caller whose key was
 * just created gets a fresh look (from the burst) at its very first request.
 */
export const LOOK_BUDGET = { ratePerSecond: 500, burst: 50 } as const;

/**
 * The keys the service accepts: those in the keys file, plus the key whose digest is
 * `adminKeySha256` (AUDITOR_API_KEY, hashed where it is read) as an admin key. The registry is
 * given digests and looks up digests, never a key in plain text: it holds nothing a memory dump
 * could give away, and it cannot compare a key with `===` (a timing difference can only tell about
 * digests, which an attacker cannot choose).
 * A key created by `npm run keys` works at once: an unknown key makes the registry stat the file
 * and reload it if it changed, before answering. A revoked key is still known, so revocations are
 * found by polling the file every `pollMs`. A reload swaps the whole table at once, so no request
 * ever sees half of it; a file that cannot be read keeps the previous keys and logs why.
 */
export function createKeyRegistry(options: {
  keysFile?: string | undefined;
  adminKeySha256?: KeyDigest | undefined;
  log: Logger;
  pollMs?: number;
  /** The clock of the budget of looks at the file (tests). */
  now?: () => number;
}): KeyRegistry {
  const { keysFile, adminKeySha256, log } = options;
  const load = (): Map<KeyDigest, Caller> => {
    const table = new Map<KeyDigest, Caller>();
    if (keysFile !== undefined) {
      for (const record of readKeysFile(keysFile)) table.set(record.sha256, { keyName: record.name, scope: record.scope });
    }
    if (adminKeySha256 !== undefined) table.set(adminKeySha256, { keyName: ENV_KEY_NAME, scope: 'admin' });
    return table;
  };

  // Stat before reading: a change made between the two is then seen by the next look.
  let loaded = fileVersion(keysFile);
  let table = load(); // a malformed file at start-up stops the service: main.ts says which
  const reloadIfChanged = (): void => {
    const version = fileVersion(keysFile);
    if (version === loaded) return;
    loaded = version; // a broken file is reported once, not on every unknown key
    try {
      table = load();
      log.info({ msg: 'keys reloaded', keys: table.size });
    } catch (error) {
      log.error({ msg: 'keys file unreadable; keeping the previous keys', file: keysFile, error: (error as Error).message });
    }
  };
  const looks = createRateLimiter({ ...LOOK_BUDGET, maxNames: 1, ...(options.now ? { now: options.now } : {}) });

  if (keysFile !== undefined) watchFile(keysFile, { interval: options.pollMs ?? 1000 }, reloadIfChanged);
  return {
    find(digest) {
      const known = table.get(digest);
      if (known !== undefined || keysFile === undefined || !looks.take('file').allowed) return known;
      reloadIfChanged();
      return table.get(digest);
    },
    close: () => {
      if (keysFile !== undefined) unwatchFile(keysFile, reloadIfChanged);
    },
  };
}

/**
 * What tells one version of the file from the next: `writeKeysFile` renames a new file into place
 * (a new inode); an edit in place changes the size or the times.
 */
function fileVersion(path: string | undefined): string {
  if (path === undefined) return 'none';
  try {
    const stats = statSync(path, { throwIfNoEntry: false });
    return stats === undefined ? 'missing' : `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
  } catch (error) {
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? ''}`;
  }
}
