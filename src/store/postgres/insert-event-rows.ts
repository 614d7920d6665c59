import type { ChainRow } from '../../integrity/verify-chain.js';
import type { PlannedRow } from '../plan-commit.js';
import type { CopiedLeafRow } from '../storage-backend.js';
import type { Queryable } from './postgres-bounds.js';
import { leafParameters } from './postgres-tree.js';

/**
 * The texts of `$n`, a JSON array of strings, as a text[] in their order. Client text travels as
 * JSON rather than as an array literal: pg escapes each quote and backslash of an array literal
 * with a regular expression, which holds the event loop two orders of magnitude longer than
 * JSON.stringify on text full of double quotes (any ingest key can send that).
 */
function textsOf(parameter: string): string {
  return `ARRAY(SELECT text FROM json_array_elements_text(${parameter}::json) WITH ORDINALITY AS element(text, position) ORDER BY position)`;
}

const INSERT_EVENTS = `
  INSERT INTO events (seq, id, ts, user_id, event_type, data, key_name, hash)
  SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::bigint[], ${textsOf('$4')}, ${textsOf('$5')}, ${textsOf('$6')}::json[], $7::text[], $8::bytea[])`;

// The same, with each event's leaf in the Merkle tree, in one statement (one round trip).
const INSERT_EVENTS_AND_LEAVES = `
  WITH leaves AS (
    INSERT INTO merkle_leaves (seq, salt, hash, nodes) SELECT * FROM unnest($1::bigint[], $9::bytea[], $10::bytea[], $11::bytea[])
  )
  ${INSERT_EVENTS}`;

/** Inserts planned rows and their leaves, with one statement. */
export async function insertPlannedRows(client: Queryable, rows: readonly PlannedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(INSERT_EVENTS_AND_LEAVES, [...eventParameters(rows), ...leafParameters(rows).slice(1)]);
}

/**
 * Inserts `rows` as they are, with everything assigned (by a plan, or by the database they are
 * copied from), with one statement: one array per column (three parameters as JSON, see textsOf).
 */
export async function insertEventRows(client: Queryable, rows: readonly ChainRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(INSERT_EVENTS, eventParameters(rows));
}

// A copy's rows: an event's removal (retention or erasure) and its leaf's kept commitment as they
// were recorded. Inserted so, not made by the UPDATE the triggers admit: nothing is changed.
const INSERT_COPIED_EVENTS_AND_LEAVES = `
  WITH leaves AS (
    INSERT INTO merkle_leaves (seq, salt, hash, nodes, data_sha256)
    SELECT * FROM unnest($12::bigint[], $13::bytea[], $14::bytea[], $15::bytea[], $16::bytea[])
  )
  INSERT INTO events (seq, id, ts, user_id, event_type, data, key_name, hash, removed_by, removal, removed_ms)
  SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::bigint[], ${textsOf('$4')}, ${textsOf('$5')}, ${textsOf('$6')}::json[], $7::text[], $8::bytea[],
    $9::uuid[], $10::text[], $11::bigint[])`;

/**
 * Inserts rows copied from another database as they are there (by migrate-to-postgres), removals
 * included, and the leaves it holds of them, with one statement.
 */
export async function insertCopiedRows(client: Queryable, rows: readonly ChainRow[], leaves: readonly CopiedLeafRow[]): Promise<void> {
  if (rows.length === 0 && leaves.length === 0) return;
  await client.query(INSERT_COPIED_EVENTS_AND_LEAVES, [
    ...eventParameters(rows),
    rows.map((row) => row.removedBy ?? null),
    rows.map((row) => row.removal ?? null),
    rows.map((row) => row.removedMs ?? null),
    leaves.map((leaf) => leaf.seq),
    leaves.map((leaf) => leaf.salt),
    leaves.map((leaf) => leaf.leafHash),
    leaves.map((leaf) => leaf.nodes),
    leaves.map((leaf) => leaf.dataSha256),
  ]);
}

function eventParameters(rows: readonly ChainRow[]): unknown[] {
  return [
    rows.map((row) => row.seq),
    rows.map((row) => row.id),
    rows.map((row) => row.timestampMs),
    JSON.stringify(rows.map((row) => row.userId)),
    JSON.stringify(rows.map((row) => row.eventType)),
    JSON.stringify(rows.map((row) => row.dataJson)),
    rows.map((row) => row.keyName),
    rows.map((row) => row.hash),
  ];
}
