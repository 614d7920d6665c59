/**
 * The second half of `npm test`: the store's contract suite and the HTTP one again, on PostgreSQL, then the tests that
 * only PostgreSQL has (several instances on one database, readiness across an outage, the schema,
 * migration from SQLite). It needs AUDITOR_TEST_POSTGRES_URL, a database the tests may create
 * schemas in. Without one, or when the server does not answer, it says so and skips, unless
 * AUDITOR_REQUIRE_POSTGRES=1 (as in CI), which makes that a failure.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const TEST_ROOT = fileURLToPath(new URL('.', import.meta.url));
/** Folders whose tests run on both backends (they reach the store through test-database.ts), then PostgreSQL's own. */
const SUITE_FOLDERS = ['contract', 'http', 'auth', 'ops', 'postgres'];

function skip(reason: string): never {
  const required = process.env.AUDITOR_REQUIRE_POSTGRES === '1';
  process.stderr.write(
    `\nPostgreSQL tests ${required ? 'FAILED' : 'SKIPPED'}: ${reason}\n` +
      'Set AUDITOR_TEST_POSTGRES_URL=postgres://user:password@host:port/database (a database the tests may\n' +
      'create schemas in) to run the contract suite on PostgreSQL as well. CI sets it, with AUDITOR_REQUIRE_POSTGRES=1.\n',
  );
  process.exit(required ? 1 : 0);
}

const url = process.env.AUDITOR_TEST_POSTGRES_URL;
if (url === undefined || url === '') skip('AUDITOR_TEST_POSTGRES_URL is not set.');
const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
try {
  await client.connect();
  await client.query('SELECT 1');
} catch (error) {
  skip(`cannot reach ${url.replace(/:[^:@/]*@/, ':***@')}: ${(error as Error).message}.`);
} finally {
  await client.end().catch(() => undefined);
}

const files = SUITE_FOLDERS.flatMap((folder) =>
  readdirSync(join(TEST_ROOT, folder)).filter((name) => name.endsWith('.test.js')).sort().map((name) => join(TEST_ROOT, folder, name)),
);
process.stdout.write(`\nRunning ${files.length} test files on PostgreSQL (${SUITE_FOLDERS.join(', ')})\n`);
// Two files at a time, as the first half runs (package.json's test:sqlite), then the files that
// bound a service process's memory under a flood (`*-process.test.js`) alone, since a neighbour's
// load turns their flood into timeouts: see docs/design.md.
const alone = (file: string): boolean => file.endsWith('-process.test.js');
process.exit((await runFiles(['--test-concurrency=2', ...files.filter((file) => !alone(file))])) || (await runFiles(files.filter(alone))));

/** Runs node --test over `args`; resolves its exit code (1 when killed by a signal). */
async function runFiles(args: string[]): Promise<number> {
  const child = spawn(process.execPath, ['--test', ...args], { stdio: 'inherit', env: { ...process.env, AUDITOR_TEST_BACKEND: 'postgres' } });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}
