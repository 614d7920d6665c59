import { silentLogger } from '../../ops/logger.js';
import type { StoreOptions } from '../event-store.js';
import type { StorageBackend } from '../storage-backend.js';
import { transactionObserver } from '../transaction-observer.js';
import { boundedQuery, POSTGRES_BOUNDS, type PostgresBounds } from './postgres-bounds.js';
import { recognisePostgresFailure } from './postgres-failures.js';
import { createPostgresPool } from './postgres-pool.js';
import { createPostgresReader } from './postgres-reader.js';
import { migratePostgresPool } from './postgres-schema.js';
import { probeEventWrite } from './postgres-write-probe.js';
import { createPostgresCommit } from './postgres-writer.js';

/**
 * Commit batches of this instance committing at once. One: commits take turns on the table lock
 * anyway, and a second batch in flight only waits for it holding a connection, which ingests less
 * than one at a time does.
 */
const MAX_BATCHES_IN_FLIGHT = 1;

/** Whether this session may write at all: not on a standby, not in read-only transactions by default. */
const SELECT_WRITABLE = `SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable`;

/**
 * Brings the schema up to date through connections of its own, without the service's bounds: a
 * step may rewrite the events table, and a second instance waits for the first one's steps.
 */
async function migrateUnbounded(url: string): Promise<void> {
  const pool = createPostgresPool(url);
  try {
    await migratePostgresPool(pool);
  } finally {
    await pool.end();
  }
}

/**
 * The backend on PostgreSQL (`url`, a postgres:// connection string), every round trip bounded by
 * `bounds`. Several instances may share the database: their commits take turns on the table lock,
 * and each extends the one chain. Opening migrates the schema first (see postgres-schema.ts).
 */
export async function openPostgresBackend(
  url: string,
  /** chainSecret is required: instances sharing a database must share it, so none is generated. */
  options: StoreOptions & { chainSecret: string; bounds?: PostgresBounds },
): Promise<StorageBackend> {
  const bounds = options.bounds ?? POSTGRES_BOUNDS;
  const pool = createPostgresPool(url, bounds);
  const probeWrite = (): Promise<void> => probeEventWrite(pool);
  try {
    const { rows } = await pool.query<{ writable: boolean }>(SELECT_WRITABLE);
    if (rows[0]?.writable !== true) {
      throw new Error('the database is read-only (a standby, or default_transaction_read_only is on): Auditor must write to a primary');
    }
    await migrateUnbounded(url);
    await probeWrite().catch((error: Error) => {
      throw new Error(`the database cannot be written (${error.message})`);
    });
  } catch (error) {
    await pool.end();
    throw error;
  }
  const chainSecret = Buffer.from(options.chainSecret, 'utf8');
  const commit = createPostgresCommit(pool, chainSecret, {
    bounds,
    clock: options.clock ?? Date.now,
    onTransactionCommitted: transactionObserver(options.onTransactionCommitted, options.log ?? silentLogger),
  });

  return {
    ...createPostgresReader(pool),
    chainSecret,
    maxBatchesInFlight: MAX_BATCHES_IN_FLIGHT,
    commit,
    // In a statement of its own and off the table lock.
    prune: async (createdUpToMs) => void (await pool.query('DELETE FROM idempotency WHERE created_ms <= $1', [createdUpToMs])),
    probeWrite,
    // A connection that does not answer in time is destroyed, not left to hold a pool slot.
    answers: (timeoutMs) =>
      pool.query<{ writable: boolean }>(boundedQuery(SELECT_WRITABLE, undefined, timeoutMs)).then(({ rows }) => rows[0]?.writable === true, () => false),
    recogniseFailure: recognisePostgresFailure,
  };
}
