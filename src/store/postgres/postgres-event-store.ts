import type { EventQuery, StoredEvent } from '../../events/event.js';
import { GENESIS_HASH } from '../../integrity/chain.js';
import { signCheckpoint, type ChainHead, type Checkpoint } from '../../integrity/checkpoint.js';
import { silentLogger } from '../../ops/logger.js';
import type { EventStore, StoreOptions } from '../event-store.js';
import { createGroupCommit } from '../group-commit.js';
import { PRUNE_EVERY_COMMITS } from '../idempotency.js';
import { createWriteReadiness } from '../write-readiness.js';
import { readInChunks, toStoredEvent, type Chunk, type EventRow } from '../read-in-chunks.js';
import { createStoreFailures } from '../store-unavailable.js';
import { boundedQuery, POSTGRES_BOUNDS, type PostgresBounds } from './postgres-bounds.js';
import { recognisePostgresFailure } from './postgres-failures.js';
import { createPostgresPool } from './postgres-pool.js';
import { probeEventWrite } from './postgres-write-probe.js';
import { buildPostgresQuerySql } from './postgres-query-sql.js';
import { migratePostgresPool } from './postgres-schema.js';
import { createPostgresCommit } from './postgres-writer.js';

/** Most events in one batch: bounds how long one commit (and the table lock) lasts. */
const MAX_BATCH = 1000;
/**
 * Batches of this instance committing at once. One: commits take turns on the table lock anyway,
 * and a second batch in flight only waited for it holding a connection (measured 7.2–7.9k req/s
 * with one against 6.3–7.4k with two, and less again with four).
 */
const MAX_BATCHES_IN_FLIGHT = 1;
/** How long a readiness probe waits for the database before calling it down. */
const READY_TIMEOUT_MS = 1000;

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
 * An EventStore on PostgreSQL (`url`, a postgres:// connection string). Several instances may
 * share the database: their commits take turns on the table lock, and each extends the one chain.
 * Opening migrates the schema first (see postgres-schema.ts).
 */
export async function openPostgresEventStore(
  url: string,
  /** chainSecret is required: instances sharing a database must share it, so none is generated. */
  options: StoreOptions & { chainSecret: string; bounds?: PostgresBounds },
): Promise<EventStore> {
  const log = options.log ?? silentLogger;
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
  const commit = createPostgresCommit(pool, options.unchainedForBenchmark === true ? undefined : chainSecret, {
    pruneEveryCommits: options.pruneEveryCommits ?? PRUNE_EVERY_COMMITS,
    onPruneFailed: (message) => log.error({ msg: 'pruning expired idempotency keys failed; no answer changed, it is tried again later', error: message }),
    bounds,
  });
  const failures = createStoreFailures(log, recognisePostgresFailure);
  const readiness = createWriteReadiness(probeWrite);
  const groupCommit = createGroupCommit(readiness.track(commit), {
    maxBatch: MAX_BATCH,
    maxInFlight: MAX_BATCHES_IN_FLIGHT,
    weight: (group) => group.length,
    ...(options.onBatchCommitted === undefined ? {} : { onCommitted: options.onBatchCommitted }),
  });
  let closed = false;
  /** `operation` as it is, but failing with what createStoreFailures makes of its errors. */
  const refusing = async <T>(operation: 'write' | 'read', run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw failures.refused(error, operation);
    }
  };

  return {
    append: async (event) => (await refusing('write', () => groupCommit.submit([event])))[0]!,
    appendAll: (events) => refusing('write', () => groupCommit.submit(events)),

    query(query: EventQuery): AsyncIterable<readonly StoredEvent[]> {
      const { sql, params } = buildPostgresQuerySql(query);
      // Each chunk is its own statement on whichever connection is free.
      return readInChunks(query, async (afterTs, afterSeq, limit, maxSize): Promise<Chunk> => {
        const { rows } = await refusing('read', () =>
          pool.query<[...EventRow, number]>({ text: sql, values: [afterTs, afterSeq, limit, maxSize, ...params], rowMode: 'array' }));
        const running = rows[rows.length - 1]?.[6] ?? 0;
        return { rows: rows.map((row) => row.slice(0, 6) as EventRow), stoppedAtSize: running >= maxSize };
      });
    },

    async get(id: string): Promise<StoredEvent | undefined> {
      const { rows } = await refusing('read', () => pool.query<EventRow>({
        text: 'SELECT seq, id, ts, user_id, event_type, data FROM events WHERE id = $1::uuid',
        values: [id],
        rowMode: 'array',
      }));
      return rows[0] === undefined ? undefined : toStoredEvent(rows[0]);
    },

    async isReady(): Promise<boolean> {
      if (closed) return false;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
      });
      // Answering is not enough: a standby answers too. Then the writes' own record (see canWrite).
      // A connection that does not answer in time is destroyed, not left to hold a pool slot.
      const answered = pool.query<{ writable: boolean }>(boundedQuery(SELECT_WRITABLE, undefined, READY_TIMEOUT_MS))
        .then(({ rows }) => rows[0]?.writable === true && readiness.canWrite(), () => false);
      try {
        return await Promise.race([answered, timedOut]);
      } finally {
        clearTimeout(timer);
      }
    },

    async checkpoint(): Promise<Checkpoint> {
      // One statement, so one snapshot: the head and the count agree however writers move on.
      // seq has no gaps (the writer assigns it under the table lock), so the count is a difference.
      const { rows } = await refusing('read', () => pool.query<{ seq: number | null; id: string | null; hash: Buffer | null; first: number | null }>(
        `SELECT head.seq, head.id, head.hash, (SELECT seq FROM events WHERE hash IS NOT NULL ORDER BY seq LIMIT 1) AS first
         FROM (SELECT 1) one LEFT JOIN LATERAL
           (SELECT seq, id, hash FROM events WHERE hash IS NOT NULL ORDER BY seq DESC LIMIT 1) head ON true`,
      ));
      const row = rows[0]!;
      const head: ChainHead = row.seq === null
        ? { eventCount: 0, lastId: null, headHash: GENESIS_HASH.toString('hex') }
        : { eventCount: row.seq - row.first! + 1, lastId: row.id, headHash: row.hash!.toString('hex') };
      return signCheckpoint(chainSecret, head);
    },

    async sizeBytes(): Promise<number> {
      const { rows } = await pool.query<{ bytes: number }>(
        `SELECT (pg_total_relation_size('events') + pg_total_relation_size('idempotency'))::bigint AS bytes`,
      );
      return rows[0]!.bytes;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await groupCommit.drain();
      failures.close();
      await pool.end();
    },
  };
}
