/**
 * npm run verify [-- --key KEY] [-- --checkpoint saved.json]: runs the database's own integrity
 * check, then rebuilds the Merkle tree of AUDITOR_DB (SQLite or PostgreSQL) from the stored rows on
 * every core and checks it against every stored hash and every signed checkpoint, with the log's
 * public key alone; the HMAC chain too when its secret is at hand. Exit status: 0 intact,
 * 1 tampered with, 2 could not check (or a bad command line).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseVerifierKey, type VerifierKey } from '../../verifier/signed-note.js';
import { describeDatabase } from '../config.js';
import { findChainSecret } from '../integrity/chain-secret.js';
import { hasValidSignature, type Checkpoint } from '../integrity/checkpoint.js';
import { parseCheckpointJson } from '../integrity/checkpoint-json.js';
import { loadSigningKey, signingKeyPath } from '../integrity/signing-key.js';
import { describeFinding, type Reason } from '../integrity/tree-finding.js';
import { verifyChain } from '../integrity/verify-chain.js';
import { verifyTree } from '../integrity/verify-tree.js';
import { openEventReader } from '../store/open-event-store.js';
import { openTreeRows, type TreeRows } from '../store/tree-rows.js';
import { fail, startEntryPoint } from './entry-point.js';

const { values, config: { database, chainSecret: configuredSecret, signingKeyFile } } = startEntryPoint({
  name: 'verify',
  usage: `usage: npm run verify [-- --key KEY] [--checkpoint FILE]

Checks AUDITOR_DB (SQLite or PostgreSQL): the database's own integrity check, then the Merkle tree
rebuilt from every stored event, against every stored hash and every checkpoint signed by the log's key.
  --key KEY           the log's verifier key (from GET /checkpoint/key), or a file holding it. Without
                      it, the key is read from the signing key file (AUDITOR_SIGNING_KEY_FILE, or
                      <database>.signing.key beside a SQLite one): a key beside the data it vouches for.
  --checkpoint FILE   also check that nothing a checkpoint saved from GET /integrity covered is gone
The HMAC chain is checked too when its secret is at hand (AUDITOR_CHAIN_SECRET, or the secret file
beside a SQLite database); the tree does not need it.
Exit status: 0 intact, 1 tampered with, 2 could not check (or a bad command line).`,
  options: { key: { type: 'string' }, checkpoint: { type: 'string' } },
  failStatus: 2,
  // Neither the chain secret nor the signing key is needed to check the tree.
  config: { requireChainSecret: false },
});

if (database.kind === 'sqlite' && !existsSync(database.path)) fail(`AUDITOR_DB: no database at "${database.path}"`);

const { key, keyLine } = values.key === undefined ? keyBesideTheData() : givenKey(values.key);
const secret = chainSecret();
const checkpoint = values.checkpoint === undefined ? undefined : readCheckpoint(values.checkpoint);
if (checkpoint !== undefined && secret === undefined) fail('--checkpoint needs the chain secret that signed it: set AUDITOR_CHAIN_SECRET');

let rows: TreeRows;
try {
  rows = await openTreeRows(database);
} catch (error) {
  fail(`cannot read "${describeDatabase(database)}": ${(error as Error).message}`);
}
let findings = 0;
const tampered = (reason: Reason, text: string): void => {
  findings++;
  console.log(`TAMPERED (${reason}): ${text}.`);
};
try {
  let started = performance.now();
  const check = await rows.checkDatabase();
  const took = `${((performance.now() - started) / 1000).toFixed(2)} s`;
  if (check.kind === 'ok') console.log(`Database: ${check.what} found nothing wrong (${took}).`);
  if (check.kind === 'unavailable') console.log(`Database: not checked: ${check.reason}.`);
  if (check.kind === 'damaged') {
    console.log(`Database: ${check.what} found damage (${took}):`);
    for (const problem of check.problems) tampered('damaged', problem);
  }
  console.log(keyLine);

  started = performance.now();
  const verdict = await verifyTree(database, rows, { key, secret });
  const seconds = (performance.now() - started) / 1000;
  const rate = Math.round(verdict.size / Math.max(seconds, 1e-9));
  const threads = `${verdict.threads} worker ${verdict.threads === 1 ? 'thread' : 'threads'}`;
  console.log(`Tree: rebuilt from ${verdict.events} events over seqs 1 to ${verdict.size} in ${seconds.toFixed(2)} s (${rate} events/s, ${threads}), and compared with every stored hash.`);
  const latest = verdict.latest === undefined
    ? 'none is kept yet'
    : `the latest, of size ${verdict.latest.size}, ${verdict.latest.holds ? 'is' : 'is NOT'} the root of the rebuilt tree`;
  console.log(`Checkpoints: ${verdict.checkpoints} checked with the key; ${latest}.`);
  if (secret === undefined) console.log('Chain: not checked (no chain secret at hand); the tree does not need it.');
  else {
    const taken = verdict.linksTakenAsStored;
    console.log(`Chain: ${verdict.chained} chained events checked link by link with the chain secret${taken > 0
      ? ` (but for ${taken} removed ${taken === 1 ? 'payload' : 'payloads'} written before links were taken over leaves, whose link is taken as stored)` : ''}.`);
  }
  if (verdict.expired + verdict.erased > 0) {
    console.log(`Removed payloads: ${verdict.expired} expired by retention and ${verdict.erased} erased, each held to the auditor.retention or auditor.erasure record that allowed it` +
      ' (an expired event is still checked against its leaf; an event erased with its user only by its leaf\'s place in the tree).');
  }
  if (verdict.unchained > 0) console.log(`${verdict.unchained} ${verdict.unchained === 1 ? 'event' : 'events'} recorded before the chain began ${verdict.unchained === 1 ? 'is' : 'are'} not covered by it.`);
  for (const finding of verdict.findings) tampered(finding.reason, describeFinding(finding));
  if (verdict.findingsLeft > 0) {
    findings += verdict.findingsLeft;
    console.log(`… and ${verdict.findingsLeft} more findings.`);
  }
} catch (error) {
  fail(`cannot check "${describeDatabase(database)}": ${(error as Error).message}`);
} finally {
  await rows.close();
}

if (checkpoint !== undefined) {
  // The HMAC checkpoint of GET /integrity, walked as before: it names the last event it covered.
  try {
    const events = await openEventReader(database);
    try {
      const verdict = await verifyChain(events.chainRows(), secret!, checkpoint);
      if (verdict.checkpoint === undefined) console.log('Checkpoint (GET /integrity): not checked: the chain breaks before it.');
      else if (verdict.checkpoint.ok) console.log(`Checkpoint (GET /integrity) holds: ${verdict.checkpoint.detail}.`);
      else tampered(hasValidSignature(secret!, checkpoint) ? 'truncated' : 're-signed', `the checkpoint saved from GET /integrity fails: ${verdict.checkpoint.detail}`);
    } finally {
      await events.close();
    }
  } catch (error) {
    fail(`cannot read the events of "${describeDatabase(database)}": ${(error as Error).message}`);
  }
}

console.log(findings === 0 ? 'The log is intact.' : `The log has been tampered with: ${findings} ${findings === 1 ? 'finding' : 'findings'}.`);
process.exit(findings === 0 ? 0 : 1);

/** The key given on the command line, as text or in a file: the one the auditor holds. */
function givenKey(given: string): { key: VerifierKey; keyLine: string } {
  let text = given;
  let source = 'given with --key';
  if (existsSync(given)) {
    try {
      text = readFileSync(given, 'utf8');
      source = `read from ${given} (--key)`;
    } catch (error) {
      fail(`cannot read the key file ${given}: ${(error as Error).message}`);
    }
  }
  try {
    const key = parseVerifierKey(text);
    return { key, keyLine: `Key: ${text.trim()}, ${source}.` };
  } catch (error) {
    fail(`--key is neither a verifier key nor a file holding one (${(error as Error).message}); it is the text GET /checkpoint/key answers`);
  }
}

/** The key in the signing key file beside the data: it checks the tree, but proves nothing about who made it. */
function keyBesideTheData(): { key: VerifierKey; keyLine: string } {
  const path = signingKeyFile ?? (database.kind === 'sqlite' ? signingKeyPath(database.path) : undefined);
  if (path === undefined) fail('no key to check the checkpoints with: pass --key with the log\'s verifier key (GET /checkpoint/key), or set AUDITOR_SIGNING_KEY_FILE');
  try {
    const signing = loadSigningKey(path, { origin: undefined, create: false });
    return {
      key: parseVerifierKey(signing.verifierKey),
      keyLine: `Key: ${signing.verifierKey}, read from the signing key file ${path}, which is kept beside the data: trusted, not checked; whoever controls the files could have replaced it (pass --key with the key you hold).`,
    };
  } catch (error) {
    fail(`${(error as Error).message}; or pass --key with the log's verifier key (GET /checkpoint/key)`);
  }
}

/** The chain's secret, when at hand: AUDITOR_CHAIN_SECRET, or the file beside a SQLite database. */
function chainSecret(): Buffer | undefined {
  if (database.kind === 'postgres') return configuredSecret === undefined ? undefined : Buffer.from(configuredSecret, 'utf8');
  try {
    return findChainSecret(configuredSecret, database.path);
  } catch (error) {
    // A secret file that is not what the service writes cannot check anything: exit 2, not a stack trace.
    fail((error as Error).message);
  }
}

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
