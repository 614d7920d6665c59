import type pg from 'pg';
import { PSEUDONYM_PREFIX } from '../../retention/pseudonym.js';
import { TIME_ORDER } from '../seq-of-time.js';

// `seq` is commit order, assigned by the writer under the table lock (see postgres-writer.ts), so
// it has no sequence of its own. `ts` is milliseconds since the epoch, as on SQLite.
// `data` is `json`, which keeps the client's text exactly (key order, number spelling); `data_index`
// is the same value as `jsonb`, which the GIN index serves containment (@>) queries from.
const CREATE_EVENTS = `
  CREATE TABLE events (
    seq        bigint  PRIMARY KEY,
    id         uuid    NOT NULL UNIQUE,
    ts         bigint  NOT NULL,
    user_id    text    NOT NULL,
    event_type text    NOT NULL,
    data       json    NOT NULL,
    data_index jsonb   GENERATED ALWAYS AS (data::jsonb) STORED,
    key_name   text,
    hash       bytea
  );
  CREATE INDEX events_by_user_time ON events (user_id, ts, seq);
  CREATE INDEX events_by_data ON events USING gin (data_index jsonb_path_ops);
`;

// An audit log only grows: the database refuses to change or remove a recorded event, whoever asks.
// TRUNCATE has a trigger of its own, since it fires no row triggers.
const MAKE_APPEND_ONLY = `
  CREATE FUNCTION auditor_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'events are append-only: % is refused', TG_OP;
  END $$;
  CREATE TRIGGER events_are_never_changed BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION auditor_refuse_change();
  CREATE TRIGGER events_are_never_truncated BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION auditor_refuse_change();
`;

// Idempotency keys seen in the last 24 hours, per API key name (as on SQLite). Not evidence, so
// not append-only: old rows are pruned.
const ADD_IDEMPOTENCY = `
  CREATE TABLE idempotency (
    key_name        text   NOT NULL,
    idempotency_key text   NOT NULL,
    request_sha256  bytea  NOT NULL,
    event_id        uuid   NOT NULL,
    created_ms      bigint NOT NULL,
    PRIMARY KEY (key_name, idempotency_key)
  );
  CREATE INDEX idempotency_by_age ON idempotency (created_ms);
`;

// One row that instances rewrite to learn whether a write can succeed now: at start-up, and for
// readiness after a commit failed (as on SQLite). Not evidence.
const ADD_WRITE_PROBE = `CREATE TABLE write_probe (id integer PRIMARY KEY CHECK (id = 1), at_ms bigint NOT NULL);`;

// The size of each event's data in bytes, stored as it is written: a query stops each chunk at a
// size (read-in-chunks.ts) by summing it, where measuring the json itself would read every row whole.
const ADD_DATA_BYTES = `
  ALTER TABLE events ADD COLUMN data_bytes integer GENERATED ALWAYS AS (octet_length(data::text)) STORED;
`;

// The Merkle tree, its checkpoints and the witnesses' cosignatures, as on SQLite (open-database.ts).
// Evidence, so append-only like the events.
const ADD_MERKLE_TREE = `
  CREATE TABLE merkle_leaves (
    seq   bigint PRIMARY KEY,
    salt  bytea,
    hash  bytea  NOT NULL,
    nodes bytea  NOT NULL
  );
  CREATE TABLE checkpoints (
    tree_size  bigint PRIMARY KEY,
    root_hash  bytea  NOT NULL,
    note       text   NOT NULL,
    created_ms bigint NOT NULL
  );
  CREATE TABLE cosignatures (
    tree_size   bigint NOT NULL,
    witness     text   NOT NULL,
    line        text   NOT NULL,
    cosigned_at bigint NOT NULL,
    PRIMARY KEY (tree_size, witness)
  );
  ${['merkle_leaves', 'checkpoints', 'cosignatures'].map((table) => `
  CREATE TRIGGER ${table}_are_never_changed BEFORE UPDATE OR DELETE ON ${table}
    FOR EACH ROW EXECUTE FUNCTION auditor_refuse_change();
  CREATE TRIGGER ${table}_are_never_truncated BEFORE TRUNCATE ON ${table}
    FOR EACH STATEMENT EXECUTE FUNCTION auditor_refuse_change();`).join('')}
`;

// Queries across users (postgres-query-sql.ts): the events of one type in seq order, which is
// time order, as the planner stamps no event behind the one before it; and where an older log is
// out of time order (seq-of-time.ts).
const ADD_TYPE_INDEX = `CREATE INDEX events_by_type ON events (event_type, seq);`;

// Retention and erasure, as on SQLite (open-database.ts): the columns that record a removal, the
// commitment a leaf keeps where its salt was, the index the retention job walks, and triggers that
// let through only the UPDATE the removal code makes (postgres-remove-payloads.ts). DELETE and
// TRUNCATE stay refused by the triggers made before.
const ADD_REMOVALS = `
  ALTER TABLE events ADD COLUMN removed_by uuid, ADD COLUMN removal text, ADD COLUMN removed_ms bigint;
  ALTER TABLE merkle_leaves ADD COLUMN data_sha256 bytea;
  CREATE INDEX events_with_payload ON events (event_type, seq) WHERE removed_by IS NULL;
  CREATE INDEX idempotency_by_event ON idempotency (event_id);

  CREATE FUNCTION auditor_allow_payload_removal() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF (OLD.removed_by IS NULL
         OR (NEW.removal = 'erasure' AND OLD.user_id NOT LIKE '${PSEUDONYM_PREFIX}%' AND NEW.user_id LIKE '${PSEUDONYM_PREFIX}%'))
       AND NEW.removed_by IS NOT NULL AND NEW.removed_ms IS NOT NULL
       AND NEW.removal IN ('retention', 'erasure') AND NEW.data::text = 'null'
       AND NEW.seq = OLD.seq AND NEW.id = OLD.id AND NEW.ts = OLD.ts AND NEW.event_type = OLD.event_type
       AND NEW.key_name IS NOT DISTINCT FROM OLD.key_name AND NEW.hash IS NOT DISTINCT FROM OLD.hash
       AND OLD.event_type NOT LIKE 'auditor.%'
       AND (NEW.user_id = OLD.user_id OR (NEW.removal = 'erasure' AND NEW.user_id LIKE '${PSEUDONYM_PREFIX}%')) THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'events are append-only: an UPDATE is refused, but for the removal of a payload by retention or erasure';
  END $$;
  DROP TRIGGER events_are_never_changed ON events;
  CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION auditor_refuse_change();
  CREATE TRIGGER events_change_only_by_removal BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION auditor_allow_payload_removal();

  CREATE FUNCTION auditor_allow_salt_removal() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.salt IS NULL AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash AND NEW.nodes = OLD.nodes
       AND (SELECT removed_by FROM events WHERE events.seq = NEW.seq) IS NOT NULL
       AND ((OLD.salt IS NOT NULL AND OLD.data_sha256 IS NULL AND (NEW.data_sha256 IS NULL OR octet_length(NEW.data_sha256) = 32))
         OR (OLD.salt IS NULL AND OLD.data_sha256 IS NOT NULL AND NEW.data_sha256 IS NULL
           AND (SELECT user_id LIKE '${PSEUDONYM_PREFIX}%' AND removal = 'erasure' FROM events WHERE events.seq = NEW.seq))) THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'merkle_leaves are append-only: an UPDATE is refused, but for the removal of a removed event''s salt';
  END $$;
  DROP TRIGGER merkle_leaves_are_never_changed ON merkle_leaves;
  CREATE TRIGGER merkle_leaves_are_never_deleted BEFORE DELETE ON merkle_leaves
    FOR EACH ROW EXECUTE FUNCTION auditor_refuse_change();
  CREATE TRIGGER merkle_leaves_change_only_by_removal BEFORE UPDATE ON merkle_leaves
    FOR EACH ROW EXECUTE FUNCTION auditor_allow_salt_removal();
`;

// Chain links over leaves from here on, as on SQLite (open-database.ts). The lock holds off
// writers while the last seq is read, so no event of this code's writers falls before the row.
const ADD_LEAF_LINKS = `
  LOCK TABLE events IN EXCLUSIVE MODE;
  CREATE TABLE chain_over_leaves (from_seq bigint NOT NULL);
  INSERT INTO chain_over_leaves SELECT coalesce(max(seq), 0) + 1 FROM events;
  CREATE FUNCTION auditor_keep_chain_over_leaves() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM chain_over_leaves) THEN
      RAISE EXCEPTION 'chain_over_leaves holds one row';
    ELSIF TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM events) THEN
      RAISE EXCEPTION 'chain_over_leaves can change only while the log is empty';
    ELSIF TG_OP IN ('DELETE', 'TRUNCATE') THEN
      RAISE EXCEPTION 'chain_over_leaves holds one row: a % is refused', TG_OP;
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER chain_over_leaves_is_kept BEFORE INSERT OR UPDATE OR DELETE ON chain_over_leaves
    FOR EACH ROW EXECUTE FUNCTION auditor_keep_chain_over_leaves();
  CREATE TRIGGER chain_over_leaves_is_never_truncated BEFORE TRUNCATE ON chain_over_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION auditor_keep_chain_over_leaves();
`;

// The webhook sinks, as on SQLite (open-database.ts).
const ADD_SINKS = `
  CREATE TABLE sinks (
    id                text   PRIMARY KEY,
    url               text   NOT NULL,
    filters           text   NOT NULL,
    secret            text   NOT NULL,
    created_ms        bigint NOT NULL,
    created_by        text   NOT NULL,
    cursor_ts         bigint NOT NULL,
    cursor_seq        bigint NOT NULL,
    failures          integer NOT NULL,
    last_error        text,
    last_attempt_ms   bigint,
    last_delivered_ms bigint,
    next_attempt_ms   bigint NOT NULL,
    lease_owner       text,
    lease_until_ms    bigint
  );
`;

/** Step i takes the schema from version i to i + 1. */
export const POSTGRES_MIGRATIONS: readonly string[] = [CREATE_EVENTS, MAKE_APPEND_ONLY, ADD_IDEMPOTENCY, ADD_WRITE_PROBE, ADD_DATA_BYTES, ADD_MERKLE_TREE, ADD_TYPE_INDEX + TIME_ORDER, ADD_REMOVALS, ADD_LEAF_LINKS, ADD_SINKS];

/** The schema version this code writes. */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/**
 * Brings the schema in the connection's search_path up to `target` (this code's version unless a
 * test asks for an older one), one transaction per step, recording the version in
 * `auditor_schema_version`. A database newer than this code is refused. Instances starting at
 * once take turns through an advisory lock, so each step runs once.
 */
export async function migratePostgres(client: pg.ClientBase, target = POSTGRES_SCHEMA_VERSION): Promise<void> {
  for (;;) {
    await client.query('BEGIN');
    try {
      // Keyed by schema, so deployments in separate schemas of one database do not wait on each other.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('auditor-migrate:' || current_schema()))`);
      await client.query('CREATE TABLE IF NOT EXISTS auditor_schema_version (version integer NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM auditor_schema_version');
      const version = rows[0]?.version ?? 0;
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new Error(`the database has schema version ${version}; this Auditor knows up to ${POSTGRES_SCHEMA_VERSION}`);
      }
      if (version >= target) {
        await client.query('COMMIT');
        return;
      }
      await client.query(POSTGRES_MIGRATIONS[version]!);
      await client.query(
        version === 0 ? 'INSERT INTO auditor_schema_version (version) VALUES ($1)' : 'UPDATE auditor_schema_version SET version = $1',
        [version + 1],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

/** migratePostgres on a connection of `pool`, which is released after. */
export async function migratePostgresPool(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await migratePostgres(client);
  } finally {
    client.release();
  }
}
