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
import { signingKeyPath } from '../integrity/signing-key.js';
import { verifyChain, type ChainRow } from '../integrity/verify-chain.js';
import { IDEMPOTENCY_WINDOW_MS } from '../store/idempotency.js';
import { openPostgresCopy } from '../store/postgres/postgres-copy.js';
import { openSqliteReader } from '../store/sqlite/sqlite-reader.js';
import { EXIT_USAGE, fail, startEntryPoint } from './entry-point.js';

/** Events per PostgreSQL transaction. */
const COPY_CHUNK_ROWS = 5000;

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

const sqlite = openSqliteReader(from, { upgrade: true }); // an older file is brought up to this version's schema first, as the service would
const postgres = await openPostgresCopy(target.url).catch(async (error: Error) => {
  await sqlite.close();
  return fail(`cannot open ${describeDatabase(target)}: ${error.message}`);
});
try {
  let after = await copiedSoFar();
  try {
    await postgres.adoptChainOverLeavesFrom(sqlite.chainOverLeavesFrom());
  } catch (error) {
    fail(`${describeDatabase(target)} cannot take the copy: ${(error as Error).message}`);
  }
  if (after > 0) console.log(`Resuming after event number ${after}, already in PostgreSQL.`);
  const copiedBefore = after; // seq has no gaps: the events before it are the first `after`
  let copied = 0;
  let chunk: ChainRow[] = [];
  const copyChunk = async (): Promise<void> => {
    try {
      await postgres.copyEvents(chunk, after, sqlite.leafRows(chunk[0]!.seq, chunk[chunk.length - 1]!.seq));
    } catch (error) {
      fail(`events ${chunk[0]!.seq}–${chunk[chunk.length - 1]!.seq} were not copied (nothing of them was): ${(error as Error).message}`);
    }
    after = chunk[chunk.length - 1]!.seq;
    copied += chunk.length;
    if (copied % 100_000 < COPY_CHUNK_ROWS) console.log(`  ${copied} events copied…`);
    chunk = [];
  };
  for await (const row of sqlite.chainRows(after)) {
    chunk.push(row);
    if (chunk.length === COPY_CHUNK_ROWS) await copyChunk();
  }
  if (chunk.length > 0) await copyChunk();
  await postgres.recordTimeOrder();
  const keys = sqlite.idempotencyRecords(Date.now() - IDEMPOTENCY_WINDOW_MS);
  await postgres.copyIdempotencyRecords(keys);
  const checkpoints = sqlite.checkpoints();
  await postgres.copyCheckpoints(checkpoints);
  console.log(`Copied ${copied} events (${copiedBefore + copied} in ${from}), their Merkle tree, ${checkpoints.length} signed checkpoints `
    + `and ${keys.length} idempotency keys to ${describeDatabase(target)}.`);
  console.log(`Give every instance the signing key that signed them, as AUDITOR_SIGNING_KEY_FILE (${signingKeyPath(from)} unless the SQLite log had one set).`);

  const secret = findChainSecret(chainSecret, from);
  if (secret === undefined) {
    console.log('No chain secret found (AUDITOR_CHAIN_SECRET, or the file beside the SQLite database): the chain was not checked.');
  } else {
    const verdict = await verifyChain(postgres.chainRows(), secret);
    if (!verdict.ok) fail(`the chain in PostgreSQL does not verify: ${verdict.broken?.reason ?? 'unknown'} (event ${verdict.broken?.id})`);
    console.log(`The chain verifies in PostgreSQL: ${verdict.chained} chained events${verdict.unchained > 0 ? `, ${verdict.unchained} from before the chain began` : ''}.`);
    console.log('Give every instance the same secret the SQLite database used, as AUDITOR_CHAIN_SECRET'
      + (chainSecret === undefined ? ' (it is in the chain.secret file beside the SQLite database).' : '.'));
  }

  /** The seq of the last event already in PostgreSQL, which must be the same event in SQLite. */
  async function copiedSoFar(): Promise<number> {
    const last = await postgres.lastEvent();
    if (last === undefined) return 0;
    let same: ChainRow | undefined;
    for await (const row of sqlite.chainRows(last.seq - 1)) {
      if (row.seq === last.seq) same = row;
      break;
    }
    if (same === undefined || same.id !== last.id || !sameHash(same.hash, last.hash)) {
      fail(`${describeDatabase(target)} already holds events that are not a copy of ${from}: copy into an empty database`);
    }
    return last.seq;
  }
} finally {
  await sqlite.close();
  await postgres.close();
}

function sameHash(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}
