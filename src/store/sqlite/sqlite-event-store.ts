import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { EventQuery, NewEvent, StoredEvent } from '../../events/event.js';
import type { EventStore, StoreOptions } from '../event-store.js';
import { createGroupCommit } from '../group-commit.js';
import { PRUNE_EVERY_COMMITS } from '../idempotency.js';
import { createStoreFailures } from '../store-unavailable.js';
import { createWriteReadiness } from '../write-readiness.js';
import { silentLogger } from '../../ops/logger.js';
import { readInChunks, rowSize, toStoredEvent, type Chunk, type EventRow } from '../read-in-chunks.js';
import { GENESIS_HASH } from '../../integrity/chain.js';
import { chainSecretPath, resolveChainSecret, restoreChainSecret } from '../../integrity/chain-secret.js';
import { signCheckpoint, type ChainHead, type Checkpoint } from '../../integrity/checkpoint.js';
import { buildEventQuerySql } from './event-query-sql.js';
import { guardDatabaseFiles } from './database-file-guard.js';
import { databaseMarkerPath, markDatabase } from './database-marker.js';
import { filesOpenToOthers, lostFileMessage, readFileIdentity, refuseToReplaceMissingDatabase } from './database-files.js';
import { createWriteProbe, openDatabase } from './open-database.js';
import { recogniseSqliteFailure } from './sqlite-failures.js';
import { startSqliteWriter } from './writer-client.js';

/** Distinct query shapes whose prepared statements are kept. */
const STATEMENT_CACHE_SIZE = 64;
/** Most events in one batch: bounds how long one commit takes. */
const MAX_BATCH = 1000;
/**
 * Batches handed to the writer before the first is acknowledged. The writer commits everything
 * waiting for it as one transaction, so neither thread waits for the other; measured 6–10% more
 * ingest than one batch at a time.
 */
const MAX_BATCHES_IN_FLIGHT = 4;

/**
 * An EventStore on one SQLite file (see openDatabase for its durability settings). Writes go
 * through group commit to a writer thread; queries run on this thread's own connection, which WAL
 * lets read beside the writer.
 */
export function openSqliteEventStore(path: string, options: StoreOptions = {}): EventStore {
  const log = options.log ?? silentLogger;
  const created = !existsSync(path);
  refuseToReplaceMissingDatabase(path, [databaseMarkerPath(path), chainSecretPath(path), `${path}-wal`], options.allowNewDatabase === true);
  // The database before its secret and its marker: a start that fails in between must not leave
  // them without a database, which the next start would take for a database lost.
  const db = openDatabase(path);
  let chainSecret: Buffer;
  try {
    probeStartUpWrite(db);
    chainSecret = resolveChainSecret(options.chainSecret, path);
    markDatabase(path, created);
  } catch (error) {
    db.close();
    throw error;
  }
  db.pragma('query_only = ON'); // this connection reads; only the writer thread writes
  const exposed = filesOpenToOthers(path);
  if (exposed.length > 0) {
    // Left as they are (someone may have opened them on purpose, to a backup group), but said.
    log.error({ msg: 'database files are open to others than their owner: chmod 600 them unless that is meant', files: exposed });
  }
  const identity = readFileIdentity(path);
  const writer = startSqliteWriter(path, options.unchainedForBenchmark === true ? undefined : chainSecret, {
    pruneEveryCommits: options.pruneEveryCommits ?? PRUNE_EVERY_COMMITS,
    identity,
    onPruneFailed: (message) => log.error({ msg: 'pruning expired idempotency keys failed; no answer changed, it is tried again later', error: message }),
    onLost: (reason) => files.lose(reason),
  });
  const rescue = async (to: string, reason: string): Promise<void> => {
    // The folder may have gone with the file (rm -rf data): made again, with the files that say a
    // database lives here, so that the copy has a place and a restart refuses to begin a new log.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    markDatabase(path, false);
    if (options.chainSecret === undefined) restoreChainSecret(path, chainSecret);
    await writer.rescue(to, reason);
  };
  const files = guardDatabaseFiles(path, identity, { log, rescue });
  const commit: typeof writer.commit = (groups) => {
    const lost = files.lost();
    return lost === undefined ? writer.commit(groups) : Promise.reject(new Error(lostFileMessage(lost)));
  };
  const failures = createStoreFailures(log, recogniseSqliteFailure);
  const readiness = createWriteReadiness(writer.probe);
  const groupCommit = createGroupCommit(readiness.track(commit), {
    maxBatch: MAX_BATCH,
    maxInFlight: MAX_BATCHES_IN_FLIGHT,
    weight: (group) => group.length,
    ...(options.onBatchCommitted === undefined ? {} : { onCommitted: options.onBatchCommitted }),
  });
  const submit = async (events: readonly NewEvent[]): Promise<StoredEvent[]> => {
    try {
      return await groupCommit.submit(events);
    } catch (error) {
      throw failures.refused(error, 'write');
    }
  };
  const statements = new Map<string, Database.Statement>();
  const selectOne = db.prepare('SELECT 1').pluck();
  const selectById = db.prepare('SELECT seq, id, ts, user_id, event_type, data FROM events WHERE id = ?').raw(true);
  const selectHead = db.prepare('SELECT seq, id, hash FROM events WHERE hash IS NOT NULL ORDER BY seq DESC LIMIT 1');
  const selectChainStart = db.prepare('SELECT seq FROM events WHERE hash IS NOT NULL ORDER BY seq LIMIT 1').pluck();
  // Both read in one snapshot, so the head and the count agree however the writer moves on.
  const readHead = db.transaction((): ChainHead => {
    const head = selectHead.get() as { seq: number; id: string; hash: Buffer } | undefined;
    if (head === undefined) return { eventCount: 0, lastId: null, headHash: GENESIS_HASH.toString('hex') };
    const first = selectChainStart.get() as number;
    return { eventCount: head.seq - first + 1, lastId: head.id, headHash: head.hash.toString('hex') };
  });

  const prepareQuery = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
      statement = db.prepare(sql).raw(true);
      statements.set(sql, statement);
    }
    return statement;
  };

  return {
    append: async (event) => (await submit([event]))[0]!,
    appendAll: submit,

    query(query: EventQuery): AsyncIterable<readonly StoredEvent[]> {
      const { sql, params } = buildEventQuerySql(query);
      const statement = prepareQuery(sql);
      return readInChunks(query, (afterTs, afterSeq, limit, maxSize): Chunk => {
        // Stepped row by row rather than read with all(), so that no more than maxSize (and one
        // event) is ever loaded, however large the events are.
        const rows: EventRow[] = [];
        let size = 0;
        for (const row of statement.iterate({ ...params, afterTs, afterSeq, limit }) as IterableIterator<EventRow>) {
          rows.push(row);
          size += rowSize(row);
          if (size >= maxSize) return { rows, stoppedAtSize: true }; // leaving the loop resets the statement
        }
        return { rows, stoppedAtSize: false };
      });
    },

    async get(id: string): Promise<StoredEvent | undefined> {
      const row = selectById.get(id) as EventRow | undefined;
      return row === undefined ? undefined : toStoredEvent(row);
    },

    async isReady(): Promise<boolean> {
      if (!files.check()) return false;
      try {
        if (!writer.isAlive() || selectOne.get() !== 1) return false;
      } catch {
        return false;
      }
      return readiness.canWrite();
    },

    async sizeBytes(): Promise<number> {
      let bytes = 0;
      for (const file of [path, `${path}-wal`]) {
        try {
          bytes += statSync(file).size;
        } catch {
          // no WAL right after a checkpoint (or an in-memory database): nothing to add
        }
      }
      return bytes;
    },

    async checkpoint(): Promise<Checkpoint> {
      return signCheckpoint(chainSecret, readHead());
    },

    async close(): Promise<void> {
      files.stop();
      await groupCommit.drain();
      await writer.close();
      failures.close();
      if (db.open) db.close();
    },
  };
}

/** Writes the probe row: SQLite opens a file it may not write read-only, without a word. */
function probeStartUpWrite(db: Database.Database): void {
  try {
    createWriteProbe(db)();
  } catch (error) {
    throw new Error(`the database cannot be written (${(error as Error).message}): check the file's owner and mode, ` +
      'the free space on its disk, and that its file system is mounted read-write');
  }
}
