import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from './sqlite-driver.js';
import { PSEUDONYM_PREFIX } from '../../retention/pseudonym.js';
import { TIME_ORDER } from '../seq-of-time.js';

// `seq` (the rowid) is commit order. `ts` is milliseconds since the epoch, which keeps the
// (user_id, ts) index small and its order exact; the API formats it as ISO 8601.
// `data` is JSON text exactly as the client wrote it, minified.
const CREATE_EVENTS = `
  CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    ts         INTEGER NOT NULL,
    user_id    TEXT    NOT NULL,
    event_type TEXT    NOT NULL,
    data       TEXT    NOT NULL CHECK (json_valid(data))
  );
  CREATE INDEX events_by_user_time ON events (user_id, ts);
`;

// An audit log only grows: the database itself refuses to change or remove a recorded event,
// whoever asks (the service never does; a stray script or a hand-typed DELETE would).
const MAKE_APPEND_ONLY = `
  CREATE TRIGGER events_are_never_updated BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only: an UPDATE is refused'); END;
  CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only: a DELETE is refused'); END;
`;

// Each event's link in the tamper-evident chain (src/integrity/chain.ts). Events recorded before
// version 3 keep NULL: the chain begins after them, and verification says how many it does not cover.
const ADD_CHAIN_HASH = `ALTER TABLE events ADD COLUMN hash BLOB;`;

// The name of the key that wrote each event (evidence of who wrote it; not part of the API's event).
const ADD_KEY_NAME = `ALTER TABLE events ADD COLUMN key_name TEXT;`;

// Idempotency keys seen in the last 24 hours, per API key name: what the request was (a digest of
// its event) and which event it stored. Not evidence, so not append-only: old rows are pruned.
const ADD_IDEMPOTENCY = `
  CREATE TABLE idempotency (
    key_name        TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    request_sha256  BLOB    NOT NULL,
    event_id        TEXT    NOT NULL,
    created_ms      INTEGER NOT NULL,
    PRIMARY KEY (key_name, idempotency_key)
  ) WITHOUT ROWID;
  CREATE INDEX idempotency_by_age ON idempotency (created_ms);
`;

// One row that the service rewrites to learn whether a write can succeed now: at start-up, and for
// readiness after a commit failed (src/store/write-readiness.ts). Not evidence.
const ADD_WRITE_PROBE = `CREATE TABLE write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms INTEGER NOT NULL);`;

// The Merkle tree over every event (src/integrity/merkle-tree.ts), one row per event in seq order:
// the salt its data is committed to under, its leaf hash, and the hashes of the subtrees it
// completes (32 bytes per level, from level 1). The checkpoints signed over it, and the witnesses'
// cosignatures of them. Evidence, so append-only like the events.
const ADD_MERKLE_TREE = `
  CREATE TABLE merkle_leaves (
    seq   INTEGER PRIMARY KEY,
    salt  BLOB,
    hash  BLOB NOT NULL,
    nodes BLOB NOT NULL
  );
  CREATE TABLE checkpoints (
    tree_size  INTEGER PRIMARY KEY,
    root_hash  BLOB    NOT NULL,
    note       TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
  );
  CREATE TABLE cosignatures (
    tree_size   INTEGER NOT NULL,
    witness     TEXT    NOT NULL,
    line        TEXT    NOT NULL,
    cosigned_at INTEGER NOT NULL,
    PRIMARY KEY (tree_size, witness)
  ) WITHOUT ROWID;
  ${['merkle_leaves', 'checkpoints', 'cosignatures'].map((table) => `
  CREATE TRIGGER ${table}_are_never_updated BEFORE UPDATE ON ${table}
    BEGIN SELECT RAISE(ABORT, '${table} are append-only: an UPDATE is refused'); END;
  CREATE TRIGGER ${table}_are_never_deleted BEFORE DELETE ON ${table}
    BEGIN SELECT RAISE(ABORT, '${table} are append-only: a DELETE is refused'); END;`).join('')}
`;

// Queries across users (src/store/sqlite/sqlite-query-plan.ts): the events of one type in seq
// order (the rowid ends every index entry), which is time order, as the planner stamps no event
// behind the one before it; and where an older log is out of time order (seq-of-time.ts).
const ADD_TYPE_INDEX = `CREATE INDEX events_by_type ON events (event_type);`;

// The one UPDATE of an event the database lets through: its payload removed (data becomes JSON
// null) and the removal recorded, once, or once more when an erasure of its user takes an event
// whose payload went before; its user_id kept, or replaced by a pseudonym by an erasure; every
// other column as it was. System events (auditor.*) are never removed.
const PAYLOAD_REMOVAL_ONLY = `
  (OLD.removed_by IS NULL
    OR (NEW.removal = 'erasure' AND OLD.user_id NOT LIKE '${PSEUDONYM_PREFIX}%' AND NEW.user_id LIKE '${PSEUDONYM_PREFIX}%'))
  AND NEW.removed_by IS NOT NULL AND NEW.removed_ms IS NOT NULL
  AND NEW.removal IN ('retention', 'erasure') AND NEW.data = 'null'
  AND NEW.seq = OLD.seq AND NEW.id = OLD.id AND NEW.ts = OLD.ts AND NEW.event_type = OLD.event_type
  AND NEW.key_name IS OLD.key_name AND NEW.hash IS OLD.hash AND OLD.event_type NOT LIKE 'auditor.%'
  AND (NEW.user_id = OLD.user_id OR (NEW.removal = 'erasure' AND NEW.user_id LIKE '${PSEUDONYM_PREFIX}%'))`;

// The one UPDATE of a leaf: its salt gone, once, after its event's payload was removed, the data's
// commitment kept or not; or, later, the commitment gone too (an erasure of its user, which gave
// the event a pseudonym). Its hash and
// nodes stay as they were: the tree does not change.
const SALT_REMOVAL_ONLY = `
  NEW.salt IS NULL AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash AND NEW.nodes = OLD.nodes
  AND (SELECT removed_by FROM events WHERE events.seq = NEW.seq) IS NOT NULL
  AND ((OLD.salt IS NOT NULL AND OLD.data_sha256 IS NULL AND (NEW.data_sha256 IS NULL OR length(NEW.data_sha256) = 32))
    OR (OLD.salt IS NULL AND OLD.data_sha256 IS NOT NULL AND NEW.data_sha256 IS NULL
      AND (SELECT user_id LIKE '${PSEUDONYM_PREFIX}%' AND removal = 'erasure' FROM events WHERE events.seq = NEW.seq)))`;

const ADD_REMOVALS = `
  ALTER TABLE events ADD COLUMN removed_by TEXT;
  ALTER TABLE events ADD COLUMN removal TEXT;
  ALTER TABLE events ADD COLUMN removed_ms INTEGER;
  ALTER TABLE merkle_leaves ADD COLUMN data_sha256 BLOB;
  CREATE INDEX events_with_payload ON events (event_type) WHERE removed_by IS NULL;
  CREATE INDEX idempotency_by_event ON idempotency (event_id);
  DROP TRIGGER events_are_never_updated;
  CREATE TRIGGER events_are_never_updated BEFORE UPDATE ON events
    WHEN NOT (${PAYLOAD_REMOVAL_ONLY})
    BEGIN SELECT RAISE(ABORT, 'events are append-only: an UPDATE is refused, but for the removal of a payload by retention or erasure'); END;
  DROP TRIGGER merkle_leaves_are_never_updated;
  CREATE TRIGGER merkle_leaves_are_never_updated BEFORE UPDATE ON merkle_leaves
    WHEN NOT (${SALT_REMOVAL_ONLY})
    BEGIN SELECT RAISE(ABORT, 'merkle_leaves are append-only: an UPDATE is refused, but for the removal of a removed event''s salt'); END;
`;

// From here on, each event's chain link is taken over its leaf hash (chainHashOverLeaf in
// src/integrity/chain.ts); the events before keep the links they were written with. One row says
// from which seq: the one after the last event at the upgrade, 1 in a new file. It can change only
// while the log is empty (migrate-to-postgres sets the source's on an empty target; the SQLite
// equivalent is a copy of the file).
const ADD_LEAF_LINKS = `
  CREATE TABLE chain_over_leaves (from_seq INTEGER NOT NULL);
  INSERT INTO chain_over_leaves SELECT coalesce(max(seq), 0) + 1 FROM events;
  CREATE TRIGGER chain_over_leaves_is_one_row BEFORE INSERT ON chain_over_leaves
    WHEN EXISTS (SELECT 1 FROM chain_over_leaves)
    BEGIN SELECT RAISE(ABORT, 'chain_over_leaves holds one row'); END;
  CREATE TRIGGER chain_over_leaves_is_never_updated BEFORE UPDATE ON chain_over_leaves
    WHEN EXISTS (SELECT 1 FROM events)
    BEGIN SELECT RAISE(ABORT, 'chain_over_leaves can change only while the log is empty'); END;
  CREATE TRIGGER chain_over_leaves_is_never_deleted BEFORE DELETE ON chain_over_leaves
    BEGIN SELECT RAISE(ABORT, 'chain_over_leaves holds one row: a DELETE is refused'); END;
`;

// The webhook sinks (src/store/sink-rows.ts): configuration and delivery state, not evidence.
const ADD_SINKS = `
  CREATE TABLE sinks (
    id                TEXT    PRIMARY KEY,
    url               TEXT    NOT NULL,
    filters           TEXT    NOT NULL,
    secret            TEXT    NOT NULL,
    created_ms        INTEGER NOT NULL,
    created_by        TEXT    NOT NULL,
    cursor_ts         INTEGER NOT NULL,
    cursor_seq        INTEGER NOT NULL,
    failures          INTEGER NOT NULL,
    last_error        TEXT,
    last_attempt_ms   INTEGER,
    last_delivered_ms INTEGER,
    next_attempt_ms   INTEGER NOT NULL,
    lease_owner       TEXT,
    lease_until_ms    INTEGER
  );
`;

/**
 * Each step takes the schema from version i to i + 1 (`PRAGMA user_version` records the version in
 * the file); a database is upgraded in place, one transaction per step, when it is opened.
 */
const MIGRATIONS: readonly string[] = [CREATE_EVENTS, MAKE_APPEND_ONLY, ADD_CHAIN_HASH, ADD_KEY_NAME, ADD_IDEMPOTENCY, ADD_WRITE_PROBE, ADD_MERKLE_TREE, ADD_TYPE_INDEX + TIME_ORDER, ADD_REMOVALS, ADD_LEAF_LINKS, ADD_SINKS];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (creating if needed) the SQLite file at `path` with the settings an audit log needs:
 * WAL so readers never block the writer, and synchronous = FULL so a commit is on disk before
 * anyone is told it happened.
 */
export function openDatabase(path: string): Database.Database {
  if (path !== ':memory:') createOwnerOnly(path);
  const db = new Database(path);
  try {
    // Only a file without tables can take it: the space a removal frees then goes back to the file
    // system (retention, erasure); an older file reuses it instead.
    if (db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() === 0) db.pragma('auto_vacuum = INCREMENTAL');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && path !== ':memory:') throw new Error(`journal_mode is ${String(mode)}, not wal`);
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');

    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * A write that commits (and syncs) like any other, to the probe row: it throws when the database
 * cannot be written now, which opening alone does not show (SQLite opens a file it may not write
 * read-only, without a word).
 */
export function createWriteProbe(db: Database.Database): () => void {
  const rewrite = db.prepare('INSERT OR REPLACE INTO write_probe (id, at_ms) VALUES (1, ?)');
  return () => void rewrite.run(Date.now());
}

/**
 * Creates an empty database file readable by its owner only, unless one is there: SQLite then
 * gives its -wal and -shm the same mode, whatever the process's umask.
 */
function createOwnerOnly(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function migrate(db: Database.Database): void {
  // IMMEDIATE: two connections opening a new file at once must not both run a step.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`the database has schema version ${version}; this Auditor knows up to ${SCHEMA_VERSION}`);
    }
    for (let step = version; step < SCHEMA_VERSION; step++) db.exec(MIGRATIONS[step]!);
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
