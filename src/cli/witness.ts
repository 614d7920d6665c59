/**
 * npm run witness -- --url URL --key KEY --state FILE --signing-key FILE [--name NAME] [--interval 60s] [--once]
 *
 * A witness for an Auditor log, run by someone other than its operator: each round it checks that
 * the log's latest checkpoint extends the last one it saw, and cosigns it (see witness-round.ts).
 * The log's admin key comes from AUDITOR_WITNESS_API_KEY (environment or .env), never the command
 * line, where other users of the machine could read it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ED25519, parseVerifierKey, type VerifierKey } from '../../verifier/signed-note.js';
import { loadWitnessKey, type WitnessKey } from '../integrity/witness-key.js';
import { witnessRound, WitnessAlarm, WitnessUnable, type RoundReport, type WitnessSetup } from '../integrity/witness-round.js';
import { EXIT_USAGE, fail, readCommandLine } from './entry-point.js';

/** The log showed a fork, a rollback or a checkpoint its key did not sign. */
const EXIT_ALARM = 1;
/** This run could not check the log (or was told something unusable). */
const EXIT_UNABLE = 2;
const DEFAULT_INTERVAL = '60s';

const { values } = readCommandLine({
  name: 'witness',
  usage: `usage: npm run witness -- --url URL --key KEY --state FILE --signing-key FILE [--name NAME] [--interval ${DEFAULT_INTERVAL}] [--once]
       npm run witness -- --print-key --signing-key FILE [--name NAME]

Checks, each round, that the log at URL still extends the last checkpoint this witness saw (kept in
--state), and cosigns the checkpoint. The log's admin key is read from AUDITOR_WITNESS_API_KEY (the
environment or .env), never from the command line.
  --url URL            the log, such as https://audit.example.com
  --key KEY            the log's verifier key (GET /checkpoint/key), or a file holding it
  --state FILE         what this witness saw last (JSON); made on the first run: trust on first use
  --signing-key FILE   this witness's own Ed25519 key, made (owner-only) on first use
  --name NAME          the new key's name, such as witness.example/w1 (default: <hostname>/witness)
  --interval TIME      time between rounds: 30s, 5m, 1h (default ${DEFAULT_INTERVAL})
  --once               one round, then exit
  --print-key          print this witness's cosigner key, for the log's AUDITOR_WITNESS_KEYS, and exit
Exit status: 0 checked (--once) or key printed; 1 the log forked, rolled back or served a checkpoint
its key did not sign (the state file is left as it was); 2 could not check (the log unreachable, a
5xx, a refusal) or a bad command line.`,
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    state: { type: 'string' },
    'signing-key': { type: 'string' },
    name: { type: 'string' },
    interval: { type: 'string' },
    once: { type: 'boolean' },
    'print-key': { type: 'boolean' },
  },
  failStatus: EXIT_UNABLE,
});

const signingKeyPath = values['signing-key'] ?? fail('name this witness\'s key file: --signing-key FILE (made on first use)', EXIT_USAGE);
const key = witnessKey(signingKeyPath, values.name);
if (values['print-key'] === true) {
  console.log(key.verifierKey);
  process.exit(0);
}

const url = values.url ?? fail('name the log: --url https://audit.example.com', EXIT_USAGE);
if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) fail(`--url: not an http:// or https:// URL: "${url}"`, EXIT_USAGE);
const logKey = readLogKey(values.key ?? fail('give the log\'s verifier key: --key <name+keyid+base64>, or a file holding it (GET /checkpoint/key)', EXIT_USAGE));
const statePath = values.state ?? fail('name the state file: --state witness.json', EXIT_USAGE);
const intervalMs = parseInterval(values.interval ?? DEFAULT_INTERVAL);
const apiKey = process.env.AUDITOR_WITNESS_API_KEY;
if (apiKey === undefined || apiKey === '') fail('set AUDITOR_WITNESS_API_KEY (in the environment or .env) to an admin key of the log: it posts cosignatures', EXIT_USAGE);

const setup: WitnessSetup = { url, logKey, apiKey, statePath, key, now: Date.now };
for (;;) {
  try {
    console.log(describe(await witnessRound(setup)));
  } catch (error) {
    if (error instanceof WitnessAlarm) fail(`${error.message}. The state file ${statePath} is left as it was.`, EXIT_ALARM);
    if (!(error instanceof WitnessUnable)) fail((error as Error).message, EXIT_UNABLE);
    if (values.once === true) fail(`could not check the log: ${error.message}`, EXIT_UNABLE);
    process.stderr.write(`witness: could not check the log this round: ${error.message}; trying again in ${values.interval ?? DEFAULT_INTERVAL}\n`);
  }
  if (values.once === true) process.exit(0);
  await sleep(intervalMs);
}

function describe({ checkpoint, seen, cosignature }: RoundReport): string {
  const what = seen.kind === 'first' ? `first checkpoint seen, trusted on first use and recorded in ${statePath}`
    : seen.kind === 'grew' ? `consistent with size ${seen.from}, recorded in ${statePath}`
      : 'unchanged';
  const cosigned = cosignature.kind === 'already' ? 'already cosigned' : `cosigned, accepted by the log (${cosignature.by.join(', ')})`;
  return `size ${checkpoint.size} root ${checkpoint.rootHash.toString('base64')}: ${what}; ${cosigned}`;
}

function witnessKey(path: string, name: string | undefined): WitnessKey {
  try {
    const { key: loaded, created } = loadWitnessKey(path, name);
    if (created) process.stderr.write(`witness: made a new key named ${loaded.name} in ${path}; give its cosigner key (npm run witness -- --print-key --signing-key ${path}) to the log's operator, for AUDITOR_WITNESS_KEYS\n`);
    return loaded;
  } catch (error) {
    fail((error as Error).message, EXIT_UNABLE);
  }
}

/** --key: a verifier key as GET /checkpoint/key serves it, or the name of a file holding one. */
function readLogKey(value: string): VerifierKey {
  let parsed: VerifierKey;
  try {
    parsed = parseVerifierKey(existsSync(value) ? readFileSync(value, 'utf8') : value);
  } catch (error) {
    fail(`--key: neither a verifier key nor a file holding one (${(error as Error).message}); give the key GET /checkpoint/key serves`, EXIT_USAGE);
  }
  if (parsed.algorithm !== ED25519) fail(`--key: ${parsed.name} is a witness's cosigner key, not a log's: give the key GET /checkpoint/key serves`, EXIT_USAGE);
  return parsed;
}

function parseInterval(text: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(text);
  const ms = match === null ? NaN : Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
  if (!(ms >= 1000 && ms <= 24 * 3_600_000)) fail(`--interval: expected a time from 1s to 24h such as 30s, 5m or 1h, got "${text}"`, EXIT_USAGE);
  return ms;
}
