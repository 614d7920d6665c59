import Database from 'better-sqlite3';
import type { DatabaseLocation } from '../config.js';
import type { ChainRow } from '../integrity/verify-chain.js';
import { createPostgresPool } from './postgres/postgres-pool.js';

/** Rows fetched per round trip from PostgreSQL while walking the chain. */
const POSTGRES_CHUNK_ROWS = 10_000;

const CHAIN_COLUMNS = 'seq, id, ts AS "timestampMs", user_id AS "userId", event_type AS "eventType", data AS "dataJson", key_name AS "keyName", hash';

/**
 * Every event of the database in seq (commit) order, with what the chain covers, read a chunk at a
 * time so the walk's memory stays flat. Read-only: it never creates or migrates a database.
 */
export async function* readChainRows(database: DatabaseLocation): AsyncGenerator<ChainRow> {
  if (database.kind === 'sqlite') {
    const db = new Database(database.path, { readonly: true, fileMustExist: true });
    try {
      yield* db.prepare(`SELECT ${CHAIN_COLUMNS} FROM events ORDER BY seq`).iterate() as IterableIterator<ChainRow>;
    } finally {
      db.close(); // a walk that stopped early closes the iterator first, which frees the connection
    }
    return;
  }
  const pool = createPostgresPool(database.url);
  try {
    let after = -1;
    for (;;) {
      const { rows } = await pool.query<ChainRow>(
        `SELECT ${CHAIN_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT ${POSTGRES_CHUNK_ROWS}`,
        [after],
      );
      yield* rows;
      if (rows.length < POSTGRES_CHUNK_ROWS) return;
      after = rows[rows.length - 1]!.seq;
    }
  } finally {
    await pool.end();
  }
}
