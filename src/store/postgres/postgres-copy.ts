import type { ChainRow } from '../../integrity/verify-chain.js';
import { FILL_TIME_ORDER } from '../seq-of-time.js';
import { inTransaction } from './postgres-transaction.js';
import type { CopiedLeafRow, EventReader, IdempotencyRecord, StoredCheckpoint } from '../storage-backend.js';
import { insertCopiedRows } from './insert-event-rows.js';
import { createPostgresPool } from './postgres-pool.js';
import { createPostgresReader } from './postgres-reader.js';
import { migratePostgresPool } from './postgres-schema.js';
import { upsertRecords } from './postgres-writer.js';
import { parseSignatureLine } from '../../../verifier/signed-note.js';

/**
 * A PostgreSQL database being given a copy of another database's events, exactly as they were
 * recorded (seq, id, timestamp, key name and chain link unchanged), for migrate-to-postgres.
 */
export type PostgresCopy = EventReader & {
  /** The last event already in the database. */
  lastEvent(): Promise<Pick<ChainRow, 'seq' | 'id' | 'hash'> | undefined>;
  /**
   * Inserts `rows`, and the Merkle tree's `leaves` of them (as many as the copied database has:
   * the service gives leaves to the rest), removals as they were recorded, in one transaction,
   * under the writers' table lock, once it has checked that the database's last event is still
   * `afterSeq` (nobody else wrote meanwhile); throws otherwise, having inserted none of them.
   */
  copyEvents(rows: readonly ChainRow[], afterSeq: number, leaves: readonly CopiedLeafRow[]): Promise<void>;
  /**
   * Takes the copied database's first seq of links over leaves as its own: set while the database
   * holds no event; after, it must already be that one (a copy resumed), else this throws.
   */
  adoptChainOverLeavesFrom(seq: number): Promise<void>;
  /** Finds anew, after a copy, where the log is in time order (see seq-of-time.ts): the copied log may not be. */
  recordTimeOrder(): Promise<void>;
  /** Keeps the checkpoints and their cosignatures as they were signed (those already kept stay). */
  copyCheckpoints(checkpoints: readonly StoredCheckpoint[]): Promise<void>;
  /** Records the Idempotency-Keys as they were, replacing a record of the same key. */
  copyIdempotencyRecords(records: readonly IdempotencyRecord[]): Promise<void>;
};

/** The PostgreSQL database at `url`, its schema brought up to date, through connections without bounds (a copy may be long). */
export async function openPostgresCopy(url: string): Promise<PostgresCopy> {
  const pool = createPostgresPool(url);
  try {
    await migratePostgresPool(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return {
    ...createPostgresReader(pool),
    async lastEvent() {
      const { rows } = await pool.query<Pick<ChainRow, 'seq' | 'id' | 'hash'>>('SELECT seq, id, hash FROM events ORDER BY seq DESC LIMIT 1');
      return rows[0];
    },
    copyEvents: (rows, afterSeq, leaves) => inTransaction(pool, 'BEGIN; LOCK TABLE events IN EXCLUSIVE MODE', async (client) => {
      const { rows: head } = await client.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM events');
      if ((head[0]!.seq ?? 0) !== afterSeq) {
        throw new Error('another writer is adding events to the PostgreSQL database: stop every instance while copying');
      }
      await insertCopiedRows(client, rows, leaves);
    }),
    adoptChainOverLeavesFrom: (seq) => inTransaction(pool, 'BEGIN; LOCK TABLE events IN EXCLUSIVE MODE', async (client) => {
      const { rows } = await client.query<{ events: boolean; fromSeq: number }>(
        'SELECT EXISTS (SELECT 1 FROM events) AS events, (SELECT min(from_seq) FROM chain_over_leaves) AS "fromSeq"');
      const { events, fromSeq } = rows[0]!;
      if (fromSeq === seq) return;
      if (events) throw new Error(`its chain links are taken over leaves from seq ${fromSeq}, the copied database's from seq ${seq}: copy into an empty database`);
      await client.query('UPDATE chain_over_leaves SET from_seq = $1', [seq]);
    }),
    recordTimeOrder: () => inTransaction(pool, 'BEGIN; LOCK TABLE events IN EXCLUSIVE MODE', async (client) => void (await client.query(FILL_TIME_ORDER))),
    copyIdempotencyRecords: (records) => upsertRecords(pool, records),
    async copyCheckpoints(checkpoints) {
      for (const { size, rootHash, note, createdMs, cosignatures } of checkpoints) {
        await pool.query(
          'INSERT INTO checkpoints (tree_size, root_hash, note, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING',
          [size, rootHash, note, createdMs],
        );
        for (const line of cosignatures) {
          // Each was checked when it was kept: its name and its time, as it states them (c2sp.org/tlog-cosignature).
          const { name, signature } = parseSignatureLine(line.trimEnd());
          await pool.query(
            'INSERT INTO cosignatures (tree_size, witness, line, cosigned_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
            [size, name, line, Number(signature.readBigUInt64BE(0))],
          );
        }
      }
    },
  };
}

