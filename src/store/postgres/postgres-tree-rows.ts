import type pg from 'pg';
import { SYSTEM_EVENT_TYPES } from '../../events/system-event-types.js';
import type { RemovalRecord } from '../../integrity/removal-claims.js';
import type { ChainRow } from '../../integrity/verify-chain.js';
import type { DatabaseCheck, SeqRow, StoredCheckpointRow, StoredLeaf, TreeRows } from '../tree-rows.js';
import { createPostgresPool } from './postgres-pool.js';
import { inTransaction } from './postgres-transaction.js';

const CHECKPOINT_COLUMNS = 'tree_size AS size, root_hash AS "rootHash", note';
const EVENT_COLUMNS = 'seq, id::text AS id, ts AS "timestampMs", user_id AS "userId", event_type AS "eventType", data::text AS "dataJson", key_name AS "keyName", hash';

// The btree indexes of the evidence: bt_index_check with heapallindexed also finds a row an index
// skips. (GIN indexes have no check in amcheck before PostgreSQL 18.)
const SELECT_INDEXES = `
  SELECT c.oid::regclass::text AS name
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
  WHERE i.indrelid IN ('events'::regclass, 'merkle_leaves'::regclass, 'checkpoints'::regclass) AND a.amname = 'btree'
  ORDER BY 1`;
const SELECT_REMOVAL_COLUMNS = `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'events' AND column_name = 'removed_by'`;
const SELECT_CHAIN_OVER_LEAVES_TABLE = `SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'chain_over_leaves'`;
const SELECT_AMCHECK_SCHEMA = `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'`;

/** The PostgreSQL database at `url`, read-only; each worker thread opens its own connections. */
export function openPostgresTreeRows(url: string): TreeRows {
  const pool = createPostgresPool(url);
  let removals: boolean | undefined;

  /** Runs `read` in one read-only snapshot, so its statements agree however writers move on. */
  const inSnapshot = <T>(read: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    inTransaction(pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', read);

  return {
    async extent() {
      // A database from before links over leaves has no chain_over_leaves: read as null.
      const overLeaves = (await pool.query(SELECT_CHAIN_OVER_LEAVES_TABLE)).rows.length > 0 ? '(SELECT min(from_seq) FROM chain_over_leaves)' : 'NULL';
      const { rows } = await pool.query<{ lastEventSeq: number; lastLeafSeq: number; firstCheckpointSize: number | null; latestCheckpointSize: number | null; chainOverLeavesFrom: number | null }>(`
        SELECT (SELECT coalesce(max(seq), 0) FROM events) AS "lastEventSeq",
          (SELECT coalesce(max(seq), 0) FROM merkle_leaves) AS "lastLeafSeq",
          (SELECT min(tree_size) FROM checkpoints) AS "firstCheckpointSize",
          (SELECT max(tree_size) FROM checkpoints) AS "latestCheckpointSize",
          ${overLeaves} AS "chainOverLeavesFrom"`);
      const row = rows[0]!;
      return {
        lastEventSeq: row.lastEventSeq,
        lastLeafSeq: row.lastLeafSeq,
        firstCheckpointSize: row.firstCheckpointSize ?? undefined,
        latestCheckpointSize: row.latestCheckpointSize ?? undefined,
        chainOverLeavesFrom: row.chainOverLeavesFrom ?? undefined,
      };
    },
    eventsBelowOne: async (limit) => (await pool.query<{ seq: number; id: string }>('SELECT seq, id::text AS id FROM events WHERE seq < 1 ORDER BY seq LIMIT $1', [limit])).rows,
    leavesBelowOne: async (limit) => (await pool.query<{ seq: number }>('SELECT seq FROM merkle_leaves WHERE seq < 1 ORDER BY seq LIMIT $1', [limit])).rows.map((row) => row.seq),
    async removalRecords(ids) {
      // removed_by is a uuid column, so every id a removed event names is one.
      const { rows } = await pool.query<RemovalRecord>(
        'SELECT id::text AS id, seq, event_type AS "eventType", data::text AS "dataJson" FROM events WHERE id = ANY($1::uuid[]) AND event_type IN ($2, $3)',
        [ids, SYSTEM_EVENT_TYPES.retention, SYSTEM_EVENT_TYPES.erasure]);
      return rows;
    },
    range: (from, to) => inSnapshot(async (client) => {
      // A database from before removals has none of their columns: read as nulls.
      removals ??= (await client.query(SELECT_REMOVAL_COLUMNS)).rows.length > 0;
      const events = (await client.query<ChainRow>(`SELECT ${EVENT_COLUMNS}, ${removals ? 'removed_by::text AS "removedBy", removal' : 'NULL AS "removedBy", NULL AS removal'} FROM events WHERE seq BETWEEN $1 AND $2 ORDER BY seq`, [from, to])).rows;
      const leaves = (await client.query<StoredLeaf>(`SELECT seq, salt, hash, nodes${removals ? ', data_sha256 AS "dataSha256"' : ''} FROM merkle_leaves WHERE seq BETWEEN $1 AND $2 ORDER BY seq`, [from, to])).rows;
      const checkpoints = (await client.query<StoredCheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE tree_size BETWEEN $1 AND $2 ORDER BY tree_size`, [from, to])).rows;
      const previous = await client.query<{ hash: Buffer | null }>('SELECT hash FROM events WHERE seq < $1 AND seq >= 1 ORDER BY seq DESC LIMIT 1', [from]);
      return { rows: bySeq(events, leaves), checkpoints, previousHash: previous.rows[0]?.hash ?? null };
    }),
    async nextSeqAfter(seq) {
      const { rows } = await pool.query<{ next: number | null }>(
        'SELECT least((SELECT min(seq) FROM events WHERE seq > $1), (SELECT min(seq) FROM merkle_leaves WHERE seq > $1)) AS next', [seq]);
      return rows[0]?.next ?? undefined;
    },
    checkpoint: async (size) => (await pool.query<StoredCheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE tree_size = $1`, [size])).rows[0],
    checkpointSizesAbove: async (size, limit) =>
      (await pool.query<{ size: number }>('SELECT tree_size AS size FROM checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2', [size, limit])).rows.map((row) => row.size),
    checkpointSizesBetween: async (from, to, limit) =>
      (await pool.query<{ size: number }>('SELECT tree_size AS size FROM checkpoints WHERE tree_size BETWEEN $1 AND $2 ORDER BY tree_size LIMIT $3', [from, to, limit])).rows.map((row) => row.size),
    async checkDatabase(): Promise<DatabaseCheck> {
      const what = 'PostgreSQL amcheck bt_index_check';
      const schema = await amcheckSchema(pool);
      if (typeof schema !== 'string') return { kind: 'unavailable', what, reason: schema.reason };
      const indexes = (await pool.query<{ name: string }>(SELECT_INDEXES)).rows.map((row) => row.name);
      const problems: string[] = [];
      for (const index of indexes) {
        try {
          await pool.query(`SELECT ${quoteIdent(schema)}.bt_index_check($1::regclass, true)`, [index]);
        } catch (error) {
          const { code, message } = error as { code?: string; message: string };
          // XX001 data_corrupted, XX002 index_corrupted: what amcheck reports; anything else is that it could not run.
          if (code !== 'XX001' && code !== 'XX002') return { kind: 'unavailable', what, reason: `bt_index_check(${index}) failed: ${message}` };
          problems.push(`${index}: ${message}`);
        }
      }
      return problems.length === 0 ? { kind: 'ok', what: `${what} on ${indexes.join(', ')}` } : { kind: 'damaged', what, problems };
    },
    close: () => pool.end(),
  };
}

/** The events and the leaf rows of a range (each in seq order), paired by seq. */
function* bySeq(events: readonly ChainRow[], leaves: readonly StoredLeaf[]): Generator<SeqRow> {
  let e = 0;
  let l = 0;
  while (e < events.length || l < leaves.length) {
    const seq = Math.min(events[e]?.seq ?? Infinity, leaves[l]?.seq ?? Infinity);
    yield { seq, event: events[e]?.seq === seq ? events[e++] : undefined, leaf: leaves[l]?.seq === seq ? leaves[l++] : undefined };
  }
}

/**
 * The schema the amcheck extension lives in, or why it cannot be used. Never installed here:
 * verify only reads, and an extension is the database owner's to add.
 */
async function amcheckSchema(pool: pg.Pool): Promise<string | { reason: string }> {
  const found = (await pool.query<{ schema: string }>(SELECT_AMCHECK_SCHEMA)).rows[0]?.schema;
  return found ?? { reason: 'the amcheck extension is not installed in this database (a superuser can add it: CREATE EXTENSION amcheck)' };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
