import type { Queryable } from './postgres-bounds.js';

/** An event row as PostgreSQL keeps it, with everything the writer (or a migration) assigned. */
export type EventRecord = {
  seq: number;
  id: string;
  ts: number;
  userId: string;
  eventType: string;
  dataJson: string;
  keyName: string | null;
  hash: Buffer | null;
};

/**
 * The texts of `$n`, a JSON array of strings, as a text[] in their order. Client text travels as
 * JSON rather than as an array literal: pg escapes each quote and backslash of an array literal
 * with a regular expression, which took 530 ms of the event loop for 1 MiB of double quotes (any
 * ingest key can send that), where JSON.stringify takes 4 ms.
 */
function textsOf(parameter: string): string {
  return `ARRAY(SELECT text FROM json_array_elements_text(${parameter}::json) WITH ORDINALITY AS element(text, position) ORDER BY position)`;
}

const INSERT_EVENTS = `
  INSERT INTO events (seq, id, ts, user_id, event_type, data, key_name, hash)
  SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::bigint[], ${textsOf('$4')}, ${textsOf('$5')}, ${textsOf('$6')}::json[], $7::text[], $8::bytea[])`;

/** Inserts `records` with one statement, one array per column (three parameters as JSON, see textsOf). */
export async function insertEventRows(client: Queryable, records: readonly EventRecord[]): Promise<void> {
  if (records.length === 0) return;
  await client.query(INSERT_EVENTS, [
    records.map((record) => record.seq),
    records.map((record) => record.id),
    records.map((record) => record.ts),
    JSON.stringify(records.map((record) => record.userId)),
    JSON.stringify(records.map((record) => record.eventType)),
    JSON.stringify(records.map((record) => record.dataJson)),
    records.map((record) => record.keyName),
    records.map((record) => record.hash),
  ]);
}
