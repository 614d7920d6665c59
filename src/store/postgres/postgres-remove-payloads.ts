import type pg from 'pg';
import { removalApplies, type PayloadRemoval } from '../payload-removal.js';
import { inTransaction } from './postgres-transaction.js';

type TargetRow = { seq: number; removal: string | null; commitment: Buffer | null };

// The events' rows are locked first, then changed statement by statement: the leaves' trigger must
// see each event removed before its salt goes (postgres-schema.ts). The commitment is the one
// verifier/leaf.ts defines, SHA-256(salt ‖ data as stored), json keeping the client's text.
const SELECT_TARGETS = `
  SELECT e.seq, e.removal, CASE WHEN l.salt IS NULL THEN NULL ELSE sha256(l.salt || convert_to(e.data::text, 'UTF8')) END AS commitment
  FROM events e LEFT JOIN merkle_leaves l ON l.seq = e.seq WHERE e.seq = ANY($1::bigint[]) ORDER BY e.seq FOR UPDATE OF e`;
const REMOVE_EVENTS = `
  UPDATE events SET data = 'null', removed_by = $2::uuid, removal = $3, removed_ms = $4, user_id = coalesce($5, user_id)
  WHERE seq = ANY($1::bigint[])`;
const REMOVE_SALTS = `
  UPDATE merkle_leaves l SET salt = NULL, data_sha256 = c.commitment
  FROM unnest($1::bigint[], $2::bytea[]) AS c(seq, commitment) WHERE l.seq = c.seq AND l.salt IS NOT NULL`;
const DROP_COMMITMENTS = 'UPDATE merkle_leaves SET data_sha256 = NULL WHERE seq = ANY($1::bigint[]) AND data_sha256 IS NOT NULL';
const FORGET_REQUESTS = 'DELETE FROM idempotency WHERE event_id IN (SELECT id FROM events WHERE seq = ANY($1::bigint[]))';

/** Makes one batch of payload removals (PayloadRemoval) in one transaction; resolves with how many events it changed. */
export async function removePostgresPayloads(pool: pg.Pool, removal: PayloadRemoval): Promise<number> {
  return inTransaction(pool, 'BEGIN', async (client) => {
    const { rows } = await client.query<TargetRow>(SELECT_TARGETS, [removal.seqs]);
    const targets = rows.filter((row) => removalApplies(removal, row));
    if (targets.length === 0) return 0;
    const seqs = targets.map((row) => row.seq);
    const withPayload = targets.filter((row) => row.removal === null);
    await client.query(REMOVE_EVENTS, [seqs, removal.recordId, removal.reason, removal.atMs, removal.pseudonym]);
    await client.query(REMOVE_SALTS, [withPayload.map((row) => row.seq), withPayload.map((row) => (removal.pseudonym === null ? row.commitment : null))]);
    if (removal.pseudonym !== null) await client.query(DROP_COMMITMENTS, [seqs]);
    await client.query(FORGET_REQUESTS, [seqs]);
    return targets.length;
  });
}
