import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { insertEventRows } from './insert-event-rows.js';
import { serverAnswered } from './postgres-failures.js';

/** The probe event's data: a small event's size, stored in its row (PostgreSQL moves values out past about 2 KB). */
const PROBE_DATA_CHARACTERS = 512;

const INSERT_KEY = `INSERT INTO idempotency (key_name, idempotency_key, request_sha256, event_id, created_ms) VALUES ($1, $2, $3, $4::uuid, $5)`;
/** A write that commits (synchronously, like every commit of the pool) to the probe row. */
const REWRITE_PROBE_ROW = `INSERT INTO write_probe (id, at_ms) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at_ms = EXCLUDED.at_ms`;

/**
 * Writes what a commit of events writes, to learn whether one can succeed now (for readiness, and
 * at start-up); throws why not. Rewriting one row in place (what it did before) succeeded while
 * every insert of events failed on their full tablespace. So, in a transaction that is rolled back,
 * one event like any other (every column and index, in the events table's own tablespace) and an
 * idempotency key; then, committed, the probe row, since a rollback flushes no WAL.
 */
export async function probeEventWrite(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const id = randomUUID();
    await insertEventRows(client, [{
      // Never committed, so never seen; below every real seq, so it waits on no writer's row.
      seq: -1 - randomInt(2 ** 47),
      id,
      timestampMs: Date.now(),
      userId: 'auditor-readiness-probe',
      eventType: 'readiness-probe',
      dataJson: JSON.stringify({ probe: randomBytes(PROBE_DATA_CHARACTERS / 2).toString('hex') }),
      keyName: null,
      hash: randomBytes(32),
    }]);
    await client.query(INSERT_KEY, ['auditor-readiness-probe', id, randomBytes(32), id, Date.now()]);
    await client.query('ROLLBACK');
    await client.query(REWRITE_PROBE_ROW, [Date.now()]);
    client.release();
  } catch (error) {
    // A server's refusal leaves the connection sound; anything else (no answer) leaves it for dead.
    const rolledBack = serverAnswered(error) && (await client.query('ROLLBACK').then(() => true, () => false));
    client.release(rolledBack ? undefined : (error as Error));
    throw error;
  }
}
