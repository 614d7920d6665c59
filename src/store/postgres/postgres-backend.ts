import { loadSigningKey, requireSignedBy } from '../../integrity/signing-key.js';
import { silentLogger, type Logger } from '../../ops/logger.js';
import type pg from 'pg';
import { SINK_STATEMENTS, sinkParameters, type SinkChange } from '../sink-rows.js';
import { inTransaction } from './postgres-transaction.js';
import type { StoreOptions } from '../event-store.js';
import type { StorageBackend } from '../storage-backend.js';
import { transactionObserver } from '../transaction-observer.js';
import { boundedQuery, POSTGRES_BOUNDS, type PostgresBounds } from './postgres-bounds.js';
import { recognisePostgresFailure } from './postgres-failures.js';
import { syncPostgresFieldIndexes } from './postgres-field-indexes.js';
import { createPostgresPool } from './postgres-pool.js';
import { createPostgresReader } from './postgres-reader.js';
import { removePostgresPayloads } from './postgres-remove-payloads.js';
import { migratePostgresPool } from './postgres-schema.js';
import { probeEventWrite } from './postgres-write-probe.js';
import { createPostgresCommit } from './postgres-writer.js';
import { catchUpBatch } from './postgres-tree.js';

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

/** How often building the tree over an older log says how far it is. */
const PROGRESS_EVERY_MS = 5000;

/**
 * Gives every event from before the Merkle tree its leaf before the service takes a write (a log
 * upgraded from an older Auditor), a batch per transaction under the writers' lock, through
 * connections without the service's bounds; instances starting at once take turns.
 */
async function buildTreeOverOlderEvents(url: string, log: Logger): Promise<void> {
  const pool = createPostgresPool(url);
  const client: pg.PoolClient = await pool.connect();
  const started = performance.now();
  let said = started;
  let built = 0;
  try {
    for (;;) {
      await client.query('BEGIN; LOCK TABLE events IN EXCLUSIVE MODE');
      try {
        const batch = await catchUpBatch(client);
        await client.query('COMMIT');
        built += batch.built;
        if (batch.left === 0) break;
        if (performance.now() - said < PROGRESS_EVERY_MS) continue;
        said = performance.now();
        log.info({ msg: 'building the Merkle tree over the events stored before it', done: built, total: built + batch.left });
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
  } finally {
    client.release();
    await pool.end();
  }
  if (built > 0) log.info({ msg: 'Merkle tree built over the events stored before it', events: built, seconds: Math.round(performance.now() - started) / 1000 });
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
  // Instances sharing a database sign with one key, so none is generated beside the data.
  if (options.signingKeyFile === undefined) throw new Error('a PostgreSQL store needs the signing key file its instances share (AUDITOR_SIGNING_KEY_FILE)');
  const signingKey = loadSigningKey(options.signingKeyFile, { origin: options.logOrigin, create: false });
  const bounds = options.bounds ?? POSTGRES_BOUNDS;
  const pool = createPostgresPool(url, bounds);
  const probeWrite = (): Promise<void> => probeEventWrite(pool);
  try {
    const { rows } = await pool.query<{ writable: boolean }>(SELECT_WRITABLE);
    if (rows[0]?.writable !== true) {
      throw new Error('the database is read-only (a standby, or default_transaction_read_only is on): Auditor must write to a primary');
    }
    await migrateUnbounded(url);
    const { rows: latest } = await pool.query<{ note: string }>('SELECT note FROM checkpoints ORDER BY tree_size DESC LIMIT 1');
    requireSignedBy(latest[0]?.note, signingKey, options.signingKeyFile);
    await buildTreeOverOlderEvents(url, options.log ?? silentLogger);
    await syncPostgresFieldIndexes(url, options.indexedFields ?? [], options.log ?? silentLogger);
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
    ...createPostgresReader(pool, options.indexedFields),
    chainSecret,
    signingKey,
    async saveCheckpoint({ size, rootHash, note, createdMs }) {
      await pool.query(
        'INSERT INTO checkpoints (tree_size, root_hash, note, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING',
        [size, rootHash, note, createdMs],
      );
    },
    async saveCosignatures(size, lines) {
      if (lines.length === 0) return;
      await pool.query(
        `INSERT INTO cosignatures (tree_size, witness, line, cosigned_at)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[]) ON CONFLICT (tree_size, witness) DO NOTHING`,
        [size, lines.map((l) => l.witness), lines.map((l) => l.line), lines.map((l) => l.cosignedAt)],
      );
    },
    maxBatchesInFlight: MAX_BATCHES_IN_FLIGHT,
    commit,
    // In a statement of its own and off the table lock.
    prune: async (createdUpToMs) => void (await pool.query('DELETE FROM idempotency WHERE created_ms <= $1', [createdUpToMs])),
    removePayloads: (removal) => removePostgresPayloads(pool, removal),
    // Committed without waiting for the WAL's flush (synchronous_commit off, for this transaction
    // only): a lost lease or cursor only sends a batch again (see the SQLite writer's changeSink).
    changeSink: (change) => inTransaction(pool, 'BEGIN; SET LOCAL synchronous_commit TO off', async (client) => {
      const { sql, values } = postgresSinkStatement(change);
      return (await client.query(sql, values)).rowCount ?? 0;
    }),
    // An ordinary VACUUM: the removed payloads' old row versions become free space for new rows.
    reclaimSpace: async () => void (await pool.query('VACUUM (ANALYZE) events, merkle_leaves, idempotency')),
    probeWrite,
    // A connection that does not answer in time is destroyed, not left to hold a pool slot.
    answers: (timeoutMs) =>
      pool.query<{ writable: boolean }>(boundedQuery(SELECT_WRITABLE, undefined, timeoutMs)).then(({ rows }) => rows[0]?.writable === true, () => false),
    recogniseFailure: recognisePostgresFailure,
  };
}

/** A sink change's statement with its `:name` parameters numbered, as pg takes them. */
function postgresSinkStatement(change: SinkChange): { sql: string; values: unknown[] } {
  const { sql, params } = SINK_STATEMENTS[change.kind];
  const named = sinkParameters(change);
  return { sql: sql.replace(/:([a-z_]+)/g, (_, name: string) => `$${params.indexOf(name) + 1}`), values: params.map((name) => named[name]) };
}
