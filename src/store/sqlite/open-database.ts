import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** The schema version this code writes; `PRAGMA user_version` records it in the file. */
const SCHEMA_VERSION = 1;

// `seq` (the rowid) is commit order. `ts` is milliseconds since the epoch, which keeps the
// (user_id, ts) index small and its order exact; the API formats it as ISO 8601.
// `data` is JSON text exactly as the client wrote it, minified.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    ts         INTEGER NOT NULL,
    user_id    TEXT    NOT NULL,
    event_type TEXT    NOT NULL,
    data       TEXT    NOT NULL CHECK (json_valid(data))
  );
  CREATE INDEX IF NOT EXISTS events_by_user_time ON events (user_id, ts);
`;

/**
 * Opens (creating if needed) the SQLite file at `path` with the settings an audit log needs:
 * WAL so readers never block the writer, and synchronous = FULL so a commit is on disk before
 * anyone is told it happened.
 */
export function openDatabase(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && path !== ':memory:') throw new Error(`journal_mode is ${String(mode)}, not wal`);
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');

    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`the database has schema version ${version}; this Auditor knows up to ${SCHEMA_VERSION}`);
    }
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
