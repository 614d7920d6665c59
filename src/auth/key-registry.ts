import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '../ops/logger.js';
import { hashKey, readKeysFile, type Scope } from './keys-file.js';

/** Who is calling: the name of their key and what it may do. */
export type Caller = { keyName: string; scope: Scope };

export type KeyRegistry = {
  /** The caller a presented key belongs to, if any. */
  find(presentedKey: string): Caller | undefined;
  /** How many keys are known now. */
  size(): number;
  close(): void;
};

/** The name events record when they were written with AUDITOR_API_KEY. */
export const ENV_KEY_NAME = 'AUDITOR_API_KEY';

/**
 * The keys the service accepts: those in the keys file, plus `adminKey` (AUDITOR_API_KEY) as an
 * admin key. Keys are known only by their SHA-256, looked up by the digest of the presented key
 * (a timing difference can only tell about digests, which an attacker cannot choose). The file is
 * watched: a change made by `npm run keys` applies within `pollMs` without a restart, by swapping
 * the whole table at once, so no request ever sees half of it. A file that cannot be read keeps
 * the previous keys and logs why.
 */
export function createKeyRegistry(options: {
  keysFile?: string | undefined;
  adminKey?: string | undefined;
  log: Logger;
  pollMs?: number;
}): KeyRegistry {
  const { keysFile, adminKey, log } = options;
  const load = (): Map<string, Caller> => {
    const table = new Map<string, Caller>();
    if (keysFile !== undefined) {
      for (const record of readKeysFile(keysFile)) table.set(record.sha256, { keyName: record.name, scope: record.scope });
    }
    if (adminKey !== undefined) table.set(hashKey(adminKey), { keyName: ENV_KEY_NAME, scope: 'admin' });
    return table;
  };

  let table = load(); // a malformed file at start-up stops the service: main.ts says which
  if (keysFile !== undefined) {
    watchFile(keysFile, { interval: options.pollMs ?? 1000 }, (current, previous) => {
      // Node reports a missing file once when watching starts; only a real change reloads.
      if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
      try {
        table = load();
        log.info({ msg: 'keys reloaded', keys: table.size });
      } catch (error) {
        log.error({ msg: 'keys file unreadable; keeping the previous keys', error: (error as Error).message });
      }
    });
  }
  return {
    find: (presentedKey) => table.get(hashKey(presentedKey)),
    size: () => table.size,
    close: () => {
      if (keysFile !== undefined) unwatchFile(keysFile);
    },
  };
}
