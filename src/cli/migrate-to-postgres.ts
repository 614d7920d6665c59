/**
 * npm run migrate-to-postgres -- [--from data/auditor.db] [--to postgres://…]: copies every event
 * of a SQLite database into a PostgreSQL one, with its seq, id, timestamp, key name and chain hash
 * unchanged (so the chain, and checkpoints saved before, still verify), and the idempotency keys
 * still within their window. It can be run again: it goes on after the last event already copied,
 * and refuses a PostgreSQL database that holds other events. --from defaults to AUDITOR_DB when
 * that is a SQLite file, --to to AUDITOR_DB when that is a postgres:// URL.
 * Exit status: 0 copied (and the chain verified, when its secret is at hand), 1 refused or failed,
 * 2 a bad command line.
 */
import { existsSync } from 'node:fs';
import { describeDatabase, parseDatabaseLocation } from '../config.js';
import { findChainSecret } from '../integrity/chain-secret.js';
import { verifyChain } from '../integrity/verify-chain.js';
import { IDEMPOTENCY_WINDOW_MS } from '../store/idempotency.js';
import { createPostgresPool } from '../store/postgres/postgres-pool.js';
import { insertEventRows } from '../store/postgres/insert-event-rows.js';
import { migratePostgresPool } from '../store/postgres/postgres-schema.js';
import { readChainRows } from '../store/read-chain-rows.js';
import { openDatabase } from '../store/sqlite/open-database.js';
import { EXIT_USAGE, fail, startEntryPoint } from './entry-point.js';

/** Events per PostgreSQL transaction. */
const COPY_CHUNK_ROWS = 5000;

type SqliteRow = { seq: number; id: string; ts: number; user_id: string; event_type: string; data: string; key_name: string | null; hash: Buffer | null };

const { values, config: { database: configured, chainSecret } } = startEntryPoint({
  name: 'migrate-to-postgres',
  usage: `usage: npm run migrate-to-postgres -- [--from FILE] [--to postgres://user:password@host:port/database]

Copies every event of a SQLite database into a PostgreSQL one, unchanged (ids, order, chain links),
with the idempotency keys still within their window; run again, it goes on where it stopped.
  --from FILE   the SQLite database (default: AUDITOR_DB, when that is a file)
  --to URL      the PostgreSQL database (default: AUDITOR_DB, when that is a postgres:// URL)
Stop every instance first. Exit status: 0 copied (and the chain verified, when its secret is at
hand), 1 refused or failed, 2 a bad command line.`,
  options: { from: { type: 'string' }, to: { type: 'string' } },
  failStatus: 1,
  // The secret to check the copy with is the SQLite log's own, found beside it when not given.
  config: { requireChainSecret: false },
});
const from = values.from ?? (configured.kind === 'sqlite' ? configured.path : undefined)
  ?? fail('name the SQLite file to copy: --from data/auditor.db', EXIT_USAGE);
const target = parseDatabaseLocation(values.to ?? (configured.kind === 'postgres' ? configured.url : ''));
if (target.kind !== 'postgres' || !URL.canParse(target.url)) {
  fail('name the PostgreSQL database to copy into: --to postgres://user:password@host:port/database', EXIT_USAGE);
}
if (!existsSync(from)) fail(`no SQLite database at "${from}"`);

const sqlite = openDatabase(from); // brings an older file up to this version's schema first, as the service would
const pool = createPostgresPool(target.url);
try {
  await migratePostgresPool(pool);

  const total = sqlite.prepare('SELECT count(*) FROM events').pluck().get() as number;
  const selectAfter = sqlite.prepare(`SELECT seq, id, ts, user_id, event_type, data, key_name, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ${COPY_CHUNK_ROWS}`);
  const selectBySeq = sqlite.prepare('SELECT id, hash FROM events WHERE seq = ?');

  let after = await copiedSoFar();
  if (after > 0) console.log(`Resuming after event number ${after}, already in PostgreSQL.`);
  let copied = 0;
  for (let rows = selectAfter.all(after) as SqliteRow[]; rows.length > 0; rows = selectAfter.all(after) as SqliteRow[]) {
    await copyChunk(rows, after);
    after = rows[rows.length - 1]!.seq;
    copied += rows.length;
    if (copied % 100_000 < COPY_CHUNK_ROWS) console.log(`  ${copied} events copied…`);
  }
  const keys = await copyIdempotencyKeys();
  console.log(`Copied ${copied} events (${total} in ${from}) and ${keys} idempotency keys to ${describeDatabase(target)}.`);

  const secret = findChainSecret(chainSecret, from);
  if (secret === undefined) {
    console.log('No chain secret found (AUDITOR_CHAIN_SECRET, or the file beside the SQLite database): the chain was not checked.');
  } else {
    const verdict = await verifyChain(readChainRows(target), secret);
    if (!verdict.ok) fail(`the chain in PostgreSQL does not verify: ${verdict.broken?.reason ?? 'unknown'} (event ${verdict.broken?.id})`);
    console.log(`The chain verifies in PostgreSQL: ${verdict.chained} chained events${verdict.unchained > 0 ? `, ${verdict.unchained} from before the chain began` : ''}.`);
    console.log('Give every instance the same secret the SQLite database used, as AUDITOR_CHAIN_SECRET'
      + (chainSecret === undefined ? ' (it is in the chain.secret file beside the SQLite database).' : '.'));
  }

  /** The seq of the last event already in PostgreSQL, which must be the same event in SQLite. */
  async function copiedSoFar(): Promise<number> {
    const { rows } = await pool.query<{ seq: number; id: string; hash: Buffer | null }>('SELECT seq, id, hash FROM events ORDER BY seq DESC LIMIT 1');
    const last = rows[0];
    if (last === undefined) return 0;
    const same = selectBySeq.get(last.seq) as { id: string; hash: Buffer | null } | undefined;
    if (same === undefined || same.id !== last.id || !sameHash(same.hash, last.hash)) {
      fail(`${describeDatabase(target)} already holds events that are not a copy of ${from}: copy into an empty database`);
    }
    return last.seq;
  }

  /** One transaction, under the writers' table lock, after checking nobody else wrote meanwhile. */
  async function copyChunk(rows: SqliteRow[], expectedHead: number): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN; LOCK TABLE events IN EXCLUSIVE MODE');
      const { rows: head } = await client.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM events');
      if ((head[0]!.seq ?? 0) !== expectedHead) {
        throw new Error('another writer is adding events to the PostgreSQL database: stop every instance while copying');
      }
      await insertEventRows(client, rows.map((r) => ({
        seq: r.seq, id: r.id, ts: r.ts, userId: r.user_id, eventType: r.event_type, dataJson: r.data, keyName: r.key_name, hash: r.hash,
      })));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      fail(`events ${rows[0]!.seq}–${rows[rows.length - 1]!.seq} were not copied (nothing of them was): ${(error as Error).message}`);
    } finally {
      client.release();
    }
  }

  async function copyIdempotencyKeys(): Promise<number> {
    const keys = sqlite
      .prepare('SELECT key_name, idempotency_key, request_sha256, event_id, created_ms FROM idempotency WHERE created_ms > ?')
      .all(Date.now() - IDEMPOTENCY_WINDOW_MS) as Array<{ key_name: string; idempotency_key: string; request_sha256: Buffer; event_id: string; created_ms: number }>;
    if (keys.length === 0) return 0;
    const { rowCount } = await pool.query(
      `INSERT INTO idempotency (key_name, idempotency_key, request_sha256, event_id, created_ms)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::uuid[], $5::bigint[]) ON CONFLICT DO NOTHING`,
      [keys.map((k) => k.key_name), keys.map((k) => k.idempotency_key), keys.map((k) => k.request_sha256), keys.map((k) => k.event_id), keys.map((k) => k.created_ms)],
    );
    return rowCount ?? 0;
  }
} finally {
  sqlite.close();
  await pool.end();
}

function sameHash(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}
