/**
 * The figure of `npm run verify` (docs/design.md, "Verifying the log"): preloads a SQLite log of
 * --events events (1M by default) as bench/preload.ts does, lets the store build its Merkle tree
 * over them and sign it as it would at start-up, then runs `npm run verify` on it and prints its
 * lines. Usage: npm run build && node dist/bench/verify-log.js [--events 1000000] [--keep]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openSqliteEventStore } from '../src/store/sqlite/sqlite-event-store.js';
import { preloadSqlite } from './preload.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, keep: { type: 'boolean', default: false } } });
const CHAIN_SECRET = 'bench-chain-secret-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'auditor-verify-bench-'));
const path = join(dir, 'auditor.db');
try {
  let started = performance.now();
  preloadSqlite(path, Number(values.events), CHAIN_SECRET);
  console.log(`Preloaded ${values.events} events in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  started = performance.now();
  const store = openSqliteEventStore(path, { chainSecret: CHAIN_SECRET });
  await store.signedCheckpoint(); // the tree is built when the store opens; this signs it
  await store.close();
  console.log(`Built and signed the tree in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  const verify = join(dirname(fileURLToPath(import.meta.url)), '../src/cli/verify.js');
  process.stdout.write(execFileSync(process.execPath, [verify], { env: { PATH: process.env.PATH ?? '', AUDITOR_DB: path, AUDITOR_CHAIN_SECRET: CHAIN_SECRET }, encoding: 'utf8' }));
} finally {
  if (values.keep) console.log(`Kept ${path}.`);
  else rmSync(dir, { recursive: true, force: true });
}
