import type pg from 'pg';
import type { ChainRow } from '../../integrity/verify-chain.js';
import type { EventRow } from '../read-in-chunks.js';
import type { ChainExtent, EventReader } from '../storage-backend.js';
import { createPostgresPool } from './postgres-pool.js';
import { buildPostgresQuerySql } from './postgres-query-sql.js';

/** Rows fetched per round trip while walking the chain. */
const CHAIN_CHUNK_ROWS = 10_000;

const CHAIN_COLUMNS = 'seq, id, ts AS "timestampMs", user_id AS "userId", event_type AS "eventType", data AS "dataJson", key_name AS "keyName", hash';

// One statement, so one snapshot: the first and the last agree however writers move on.
const SELECT_EXTENT = `
  SELECT last.seq AS "lastSeq", last.id AS "lastId", last.hash AS "lastHash",
    (SELECT seq FROM events WHERE hash IS NOT NULL ORDER BY seq LIMIT 1) AS "firstSeq"
  FROM (SELECT seq, id, hash FROM events WHERE hash IS NOT NULL ORDER BY seq DESC LIMIT 1) last`;

/** The events of the PostgreSQL database behind `pool`: each read is a statement on whichever connection is free. */
export function createPostgresReader(pool: pg.Pool): EventReader {
  return {
    readChunks(query) {
      const { sql, params } = buildPostgresQuerySql(query);
      return async (afterTs, afterSeq, limit, maxSize) => {
        const { rows } = await pool.query<[...EventRow, number]>({ text: sql, values: [afterTs, afterSeq, limit, maxSize, ...params], rowMode: 'array' });
        const running = rows[rows.length - 1]?.[6] ?? 0;
        return { rows: rows.map((row) => row.slice(0, 6) as EventRow), stoppedAtSize: running >= maxSize };
      };
    },
    async get(id) {
      const { rows } = await pool.query<EventRow>({
        text: 'SELECT seq, id, ts, user_id, event_type, data FROM events WHERE id = $1::uuid',
        values: [id],
        rowMode: 'array',
      });
      return rows[0];
    },
    chainExtent: async () => (await pool.query<ChainExtent>(SELECT_EXTENT)).rows[0],
    async *chainRows(afterSeq = 0) {
      for (let after = afterSeq; ;) {
        const { rows } = await pool.query<ChainRow>(`SELECT ${CHAIN_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT ${CHAIN_CHUNK_ROWS}`, [after]);
        yield* rows;
        if (rows.length < CHAIN_CHUNK_ROWS) return;
        after = rows[rows.length - 1]!.seq;
      }
    },
    async sizeBytes() {
      const { rows } = await pool.query<{ bytes: number }>(`SELECT (pg_total_relation_size('events') + pg_total_relation_size('idempotency'))::bigint AS bytes`);
      return rows[0]!.bytes;
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
