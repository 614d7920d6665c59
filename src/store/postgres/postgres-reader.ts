import type pg from 'pg';
import type { ChainRow } from '../../integrity/verify-chain.js';
import { chainRowOf, LINKED_LEAF_COLUMNS } from '../chain-rows.js';
import { SINK_COLUMNS, sinkRowOf } from '../sink-rows.js';
import { EVENT_COLUMNS, type EventRow } from '../read-in-chunks.js';
import { seqBoundSql } from '../seq-of-time.js';
import type { IndexedField } from '../indexed-fields.js';
import type { ChainExtent, EventReader, LeafSource, RemovalCandidate, StoredCheckpoint } from '../storage-backend.js';
import { countableInIndexes, createGroupCounter } from '../summary-groups.js';
import { createPostgresPool } from './postgres-pool.js';
import { buildPostgresQuerySql, buildPostgresSummarySql, buildTypeCountBoundsSql, type TypeCountBounds } from './postgres-query-sql.js';
import { readSubtrees, readTreeSize } from './postgres-tree.js';

// What the retention job reads, along events_with_payload (only events still holding a payload),
// as on SQLite (sqlite-reader.ts): the next type, then a type's events older than the cutoff.
const SELECT_NEXT_TYPE_WITH_PAYLOAD = 'SELECT min(event_type) AS type FROM events WHERE removed_by IS NULL AND event_type > $1';
const SELECT_PAYLOADS_RECORDED_BEFORE = `
  SELECT seq, ts AS "timestampMs", user_id AS "userId" FROM events
  WHERE event_type = $1 AND removed_by IS NULL AND seq > $3::bigint AND seq < (${seqBoundSql('$2::bigint', 'until')}) AND ts < $2::bigint
  ORDER BY seq LIMIT $4`;

const SELECT_REMOVAL_COLUMN = `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'events' AND column_name = 'removed_by'`;

/** Where the running size follows an EventRow in a chunk's rows (postgres-query-sql.ts). */
const RUNNING_SIZE = 9;

const CHECKPOINT_COLUMNS = 'tree_size AS size, root_hash AS "rootHash", note, created_ms AS "createdMs"';
const SELECT_LEAF_SOURCE = `
  SELECT e.seq, e.id, e.ts AS "timestampMs", e.user_id AS "userId", e.event_type AS "eventType", e.data::text AS "dataJson",
    e.key_name AS "keyName", e.hash, l.salt, e.removed_by::text AS "removedBy", e.removal, e.removed_ms AS "removedMs", l.data_sha256 AS "dataSha256", l.hash AS "leafHash"
  FROM events e LEFT JOIN merkle_leaves l ON l.seq = e.seq WHERE e.id = $1::uuid`;
// The checkpoint and its cosignatures in one statement.
const SELECT_CHECKPOINT = (where: string) => `
  SELECT ${CHECKPOINT_COLUMNS},
    ARRAY(SELECT line FROM cosignatures s WHERE s.tree_size = c.tree_size ORDER BY witness) AS cosignatures
  FROM checkpoints c ${where}`;

/** Rows fetched per round trip while walking the chain. */
const CHAIN_CHUNK_ROWS = 10_000;

const CHAIN_COLUMNS = 'seq, id, ts AS "timestampMs", user_id AS "userId", event_type AS "eventType", data AS "dataJson", key_name AS "keyName", hash';
const JOINED_CHAIN_COLUMNS = `e.seq, e.id, e.ts AS "timestampMs", e.user_id AS "userId", e.event_type AS "eventType", e.data AS "dataJson",
  e.key_name AS "keyName", e.hash, e.removed_by::text AS "removedBy", e.removal, e.removed_ms AS "removedMs"`;
const SELECT_CHAIN_OVER_LEAVES_TABLE = `SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'chain_over_leaves'`;

// One statement, so one snapshot: the first and the last agree however writers move on.
const SELECT_EXTENT = `
  SELECT last.seq AS "lastSeq", last.id AS "lastId", last.hash AS "lastHash",
    (SELECT seq FROM events WHERE hash IS NOT NULL ORDER BY seq LIMIT 1) AS "firstSeq"
  FROM (SELECT seq, id, hash FROM events WHERE hash IS NOT NULL ORDER BY seq DESC LIMIT 1) last`;

/** The events of the PostgreSQL database behind `pool`: each read is a statement on whichever connection is free. */
export function createPostgresReader(pool: pg.Pool, fields: readonly IndexedField[] = []): EventReader {
  // A database from before removals has none of their columns (a tool reads it as it is).
  let removals: Promise<string> | undefined;
  const removalColumns = (): Promise<string> => (removals ??= pool.query(SELECT_REMOVAL_COLUMN).then(({ rows }) =>
    rows.length > 0 ? 'removed_by::text AS "removedBy", removal' : 'NULL AS "removedBy", NULL AS removal'));
  return {
    readChunks(query) {
      const { sql, params } = buildPostgresQuerySql(query, fields);
      return async (afterTs, afterSeq, limit, maxSize) => {
        const { rows } = await pool.query<[...EventRow, number]>({ text: sql, values: [afterTs, afterSeq, limit, maxSize, ...params], rowMode: 'array' });
        const running = rows[rows.length - 1]?.[RUNNING_SIZE] ?? 0;
        return { rows: rows.map((row) => row.slice(0, RUNNING_SIZE) as EventRow), stoppedAtSize: running >= maxSize };
      };
    },
    async summarize(query, groupBy) {
      let typeBounds: TypeCountBounds | undefined;
      if (groupBy === 'event_type' && countableInIndexes(query, groupBy)) {
        const bounds = buildTypeCountBoundsSql(query);
        const row = (await pool.query<Record<keyof TypeCountBounds, string | null>>(bounds.sql, bounds.params)).rows[0]!;
        typeBounds = { fromSeq: Number(row.fromSeq), toSeq: Number(row.toSeq), orderedFromSeq: Number(row.orderedFromSeq), earlierMaxTs: row.earlierMaxTs === null ? null : Number(row.earlierMaxTs) };
      }
      const { sql, params } = buildPostgresSummarySql(query, groupBy, fields, typeBounds);
      const { rows } = await pool.query<{ key: string | number; count: number }>(sql, params);
      const counter = createGroupCounter(groupBy, query.order);
      // bigint keys (hours, days) arrive as text: a number, as SQLite gives them
      for (const { key, count } of rows) counter.add(groupBy === 'hour' || groupBy === 'day' ? Number(key) : key, count);
      return counter.summary();
    },
    async get(id) {
      const { rows } = await pool.query<EventRow>({
        text: `SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1::uuid`,
        values: [id],
        rowMode: 'array',
      });
      return rows[0];
    },
    async nextTypeWithPayload(after) {
      const { rows } = await pool.query<{ type: string | null }>(SELECT_NEXT_TYPE_WITH_PAYLOAD, [after]);
      return rows[0]?.type ?? undefined;
    },
    async payloadsRecordedBefore(eventType, beforeMs, afterSeq, limit) {
      return (await pool.query<RemovalCandidate>(SELECT_PAYLOADS_RECORDED_BEFORE, [eventType, beforeMs, afterSeq, limit])).rows;
    },
    chainExtent: async () => (await pool.query<ChainExtent>(SELECT_EXTENT)).rows[0],
    async *chainRows(afterSeq = 0) {
      // A database from before links over leaves has no chain_over_leaves; one with it has removals and the tree.
      const overLeaves = (await pool.query(SELECT_CHAIN_OVER_LEAVES_TABLE)).rows.length > 0;
      const select = overLeaves
        ? `SELECT ${JOINED_CHAIN_COLUMNS}, e.seq >= (SELECT min(from_seq) FROM chain_over_leaves) AS "overLeaf", ${LINKED_LEAF_COLUMNS}
           FROM events e LEFT JOIN merkle_leaves l ON l.seq = e.seq WHERE e.seq > $1 ORDER BY e.seq LIMIT ${CHAIN_CHUNK_ROWS}`
        : `SELECT ${CHAIN_COLUMNS}, ${await removalColumns()} FROM events WHERE seq > $1 ORDER BY seq LIMIT ${CHAIN_CHUNK_ROWS}`;
      for (let after = afterSeq; ;) {
        const { rows } = await pool.query<ChainRow>(select, [after]);
        for (const row of rows) yield overLeaves ? chainRowOf(row as Parameters<typeof chainRowOf>[0]) : row;
        if (rows.length < CHAIN_CHUNK_ROWS) return;
        after = rows[rows.length - 1]!.seq;
      }
    },
    async sizeBytes() {
      const { rows } = await pool.query<{ bytes: number }>(`SELECT (pg_total_relation_size('events') + pg_total_relation_size('idempotency'))::bigint AS bytes`);
      return rows[0]!.bytes;
    },
    treeSize: () => readTreeSize(pool),
    sinks: async () => (await pool.query(`SELECT ${SINK_COLUMNS.join(', ')} FROM sinks ORDER BY created_ms, id`)).rows.map(sinkRowOf),
    subtrees: (wanted) => readSubtrees(pool, wanted),
    async leafSource(id) {
      const { rows } = await pool.query<LeafSource>(SELECT_LEAF_SOURCE, [id]);
      const row = rows[0];
      return row === undefined ? undefined : { ...row, seq: Number(row.seq), timestampMs: Number(row.timestampMs) };
    },
    async checkpoint(size) {
      const { rows } = size === undefined
        ? await pool.query<StoredCheckpoint>(SELECT_CHECKPOINT('ORDER BY tree_size DESC LIMIT 1'))
        : await pool.query<StoredCheckpoint>(SELECT_CHECKPOINT('WHERE tree_size = $1'), [size]);
      const row = rows[0];
      return row === undefined ? undefined : { ...row, size: Number(row.size), createdMs: Number(row.createdMs) };
    },
    close: () => pool.end(),
  };
}

/**
 * The PostgreSQL database at `url`, for reading only (the command-line tools): its schema is not
 * brought up to date, and the connections have no bounds, since a long walk is not a stall.
 */
export function openPostgresReader(url: string): EventReader {
  return createPostgresReader(createPostgresPool(url));
}
