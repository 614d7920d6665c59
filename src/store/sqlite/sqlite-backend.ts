import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { chainSecretPath, resolveChainSecret, restoreChainSecret } from '../../integrity/chain-secret.js';
import { loadSigningKey, requireSignedBy, signingKeyPath, type SigningKey } from '../../integrity/signing-key.js';
import { silentLogger, type Logger } from '../../ops/logger.js';
import type { StoreOptions } from '../event-store.js';
import type { StorageBackend } from '../storage-backend.js';
import { transactionObserver } from '../transaction-observer.js';
import { guardDatabaseFiles } from './database-file-guard.js';
import { databaseMarkerPath, markDatabase } from './database-marker.js';
import { filesOpenToOthers, lostFileMessage, readFileIdentity, refuseToReplaceMissingDatabase } from './database-files.js';
import { createWriteProbe, openDatabase } from './open-database.js';
import { recogniseSqliteFailure } from './sqlite-failures.js';
import { syncSqliteFieldIndexes } from './sqlite-field-indexes.js';
import { createSqliteReader } from './sqlite-reader.js';
import { createSqliteTree } from './sqlite-tree.js';
import { startSqliteWriter } from './writer-client.js';

/**
 * Commit batches handed to the writer before the first is acknowledged. The writer commits every
 * batch waiting for it in one transaction, so neither thread waits for the other, which ingests
 * more than one batch at a time does.
 */
const MAX_BATCHES_IN_FLIGHT = 4;

/**
 * The backend on one SQLite file (see openDatabase for its durability settings). Commits go to a
 * writer thread; reads run on this thread's own connection, which WAL lets read beside the writer.
 * Around the file: the marker and the chain secret beside it, and a guard that notices the file
 * deleted or replaced under the running service.
 */
export function openSqliteBackend(path: string, options: StoreOptions = {}): StorageBackend {
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? Date.now;
  const created = !existsSync(path);
  // A signing key beside a missing database signed its checkpoints: a new log under it would be a fork.
  const keyPath = options.signingKeyFile ?? signingKeyPath(path);
  const evidence = [databaseMarkerPath(path), chainSecretPath(path), `${path}-wal`, ...(options.signingKeyFile === undefined ? [keyPath] : [])];
  refuseToReplaceMissingDatabase(path, evidence, options.allowNewDatabase === true);
  // The database before its secret and its marker: a start that fails in between must not leave
  // them without a database, which the next start would take for a database lost.
  const db = openDatabase(path);
  let chainSecret: Buffer;
  let signingKey: SigningKey;
  try {
    probeStartUpWrite(db);
    chainSecret = resolveChainSecret(options.chainSecret, path);
    signingKey = loadSigningKey(keyPath, { origin: options.logOrigin, create: true });
    requireSignedBy(db.prepare('SELECT note FROM checkpoints ORDER BY tree_size DESC LIMIT 1').pluck().get() as string | undefined, signingKey, keyPath);
    markDatabase(path, created);
    buildTreeOverOlderEvents(db, log);
    syncSqliteFieldIndexes(db, options.indexedFields ?? [], log);
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
  const writer = startSqliteWriter(path, chainSecret, {
    identity,
    onLost: (reason) => files.lose(reason),
    onTransactionCommitted: transactionObserver(options.onTransactionCommitted, log),
  });
  const rescue = async (to: string, reason: string): Promise<void> => {
    // The folder may have gone with the file (rm -rf data): made again, with the files that say a
    // database lives here, so that the copy has a place and a restart refuses to begin a new log.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    markDatabase(path, false);
    if (options.chainSecret === undefined) restoreChainSecret(path, chainSecret);
    if (options.signingKeyFile === undefined) signingKey.restoreTo(keyPath);
    await writer.rescue(to, reason);
  };
  const files = guardDatabaseFiles(path, identity, { log, rescue });
  const reader = createSqliteReader(db, path, options.indexedFields, options.queryPlanning);
  const selectOne = db.prepare('SELECT 1').pluck();

  return {
    ...reader,
    chainSecret,
    signingKey,
    saveCheckpoint: (checkpoint) => writer.saveCheckpoint(checkpoint),
    saveCosignatures: (size, lines) => writer.saveCosignatures(size, lines),
    maxBatchesInFlight: MAX_BATCHES_IN_FLIGHT,
    commit(submissions) {
      const lost = files.lost();
      return lost === undefined ? writer.commit(submissions, clock()) : Promise.reject(new Error(lostFileMessage(lost)));
    },
    prune: writer.prune,
    removePayloads: writer.removePayloads,
    reclaimSpace: writer.reclaimSpace,
    changeSink: writer.changeSink,
    probeWrite: writer.probe,
    async answers() {
      if (!files.check()) return false;
      try {
        return writer.isAlive() && selectOne.get() === 1;
      } catch {
        return false;
      }
    },
    recogniseFailure: recogniseSqliteFailure,
    async close() {
      files.stop();
      await writer.close();
      await reader.close();
    },
  };
}

/** How often building the tree over an older log says how far it is. */
const PROGRESS_EVERY_MS = 5000;

/**
 * Gives every event from before the Merkle tree its leaf, before the service takes a write: a
 * log upgraded from an older Auditor, once (nothing to do afterwards).
 */
function buildTreeOverOlderEvents(db: Database.Database, log: Logger): void {
  const tree = createSqliteTree(db);
  const started = performance.now();
  let said = started;
  const built = tree.catchUp((work) => db.transaction(work).immediate(), (done, total) => {
    if (performance.now() - said < PROGRESS_EVERY_MS) return;
    said = performance.now();
    log.info({ msg: 'building the Merkle tree over the events stored before it', done, total });
  });
  if (built > 0) log.info({ msg: 'Merkle tree built over the events stored before it', events: built, seconds: Math.round(performance.now() - started) / 1000 });
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
