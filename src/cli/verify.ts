/**
 * npm run verify [-- --checkpoint saved.json]: walks the whole chain of the configured database
 * (AUDITOR_DB, SQLite or PostgreSQL; AUDITOR_CHAIN_SECRET, or the secret file beside a SQLite
 * database) and, given a checkpoint saved from GET /integrity, checks that nothing it covered is
 * gone. Exit status: 0 intact, 1 broken, 2 could not check (or a bad command line).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describeDatabase } from '../config.js';
import { findChainSecret } from '../integrity/chain-secret.js';
import type { Checkpoint } from '../integrity/checkpoint.js';
import { parseCheckpointJson } from '../integrity/checkpoint-json.js';
import { verifyChain } from '../integrity/verify-chain.js';
import { openEventReader } from '../store/open-event-store.js';
import { fail, startEntryPoint } from './entry-point.js';

const { values, config: { database, chainSecret: configuredSecret } } = startEntryPoint({
  name: 'verify',
  usage: `usage: npm run verify [-- --checkpoint FILE]

Walks the whole tamper-evident chain of AUDITOR_DB (SQLite or PostgreSQL), keyed by
AUDITOR_CHAIN_SECRET or the secret file beside a SQLite database (read from the environment or .env).
  --checkpoint FILE   also check that nothing a checkpoint saved from GET /integrity covered is gone
Exit status: 0 intact, 1 tampered with, 2 could not check (or a bad command line).`,
  options: { checkpoint: { type: 'string' } },
  failStatus: 2,
});

function readCheckpoint(path: string): Checkpoint {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(`cannot read the checkpoint ${path}: ${(error as Error).message}`);
  }
  try {
    return parseCheckpointJson(text);
  } catch (error) {
    fail(`${path} is not a checkpoint saved from GET /integrity: ${(error as Error).message}`);
  }
}

if (database.kind === 'sqlite' && !existsSync(database.path)) fail(`AUDITOR_DB: no database at "${database.path}"`);
// loadConfig has already required AUDITOR_CHAIN_SECRET with PostgreSQL: it keeps no secret file.
const secret = (database.kind === 'sqlite' ? keptChainSecret(database.path) : Buffer.from(configuredSecret!, 'utf8'))
  ?? fail('no chain secret: set AUDITOR_CHAIN_SECRET, or run where the secret file beside the database is readable');
/** A secret file that is not what the service writes cannot check anything: exit 2, not a stack trace. */
function keptChainSecret(dbPath: string): Buffer | undefined {
  try {
    return findChainSecret(configuredSecret, dbPath);
  } catch (error) {
    fail((error as Error).message);
  }
}
const checkpoint = values.checkpoint === undefined ? undefined : readCheckpoint(values.checkpoint);

const started = performance.now();
let verdict;
try {
  const events = await openEventReader(database);
  try {
    verdict = await verifyChain(events.chainRows(), secret, checkpoint);
  } finally {
    await events.close();
  }
} catch (error) {
  fail(`cannot read the events of "${describeDatabase(database)}": ${(error as Error).message}`);
}
const seconds = (performance.now() - started) / 1000;

const checked = verdict.chained + verdict.unchained;
console.log(`Checked ${verdict.chained} chained events in ${seconds.toFixed(2)} s (${Math.round(checked / Math.max(seconds, 1e-9))} events/s).`);
if (verdict.unchained > 0) console.log(`${verdict.unchained} ${verdict.unchained === 1 ? 'event' : 'events'} recorded before the chain began ${verdict.unchained === 1 ? 'is' : 'are'} not covered by it.`);
if (verdict.broken !== undefined) {
  console.log(`BROKEN at event ${verdict.broken.id} (number ${verdict.broken.seq}): ${verdict.broken.reason}.`);
}
if (verdict.checkpoint !== undefined) console.log(`Checkpoint ${verdict.checkpoint.ok ? 'holds' : 'FAILS'}: ${verdict.checkpoint.detail}.`);
console.log(verdict.ok ? 'The chain is intact.' : 'The log has been tampered with.');
process.exit(verdict.ok ? 0 : 1);
