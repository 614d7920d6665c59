import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

type Run = { code: number; stdout: string; stderr: string };

const entryPoint = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
/** Each entry point, its usage, the exit status of its failures, and the arguments of a run that reads the configuration. */
const ENTRY_POINTS = {
  verify: { file: entryPoint('../../src/cli/verify.js'), usage: 'usage: npm run verify [-- --key KEY] [--checkpoint FILE]\n', failStatus: 2, args: [] },
  keys: { file: entryPoint('../../src/cli/keys.js'), usage: 'usage: npm run -s keys -- create --name NAME --scope ingest|read|admin\n', failStatus: 2, args: ['list'] },
  'migrate-to-postgres': {
    file: entryPoint('../../src/cli/migrate-to-postgres.js'), usage: 'usage: npm run migrate-to-postgres -- [--from FILE] [--to postgres://', failStatus: 1, args: [],
  },
  auditor: { file: entryPoint('../../src/main.js'), usage: 'usage: npm start\n', failStatus: 1, args: [] },
} as const;

/** Runs an entry point where no .env is, with no settings (unless told): nothing here may get as far as reading them. */
function run(file: string, args: readonly string[], { cwd = tmpdir(), env = {} }: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

describe('every entry point (the service, verify, keys, migrate-to-postgres)', () => {
  for (const [name, { file, usage }] of Object.entries(ENTRY_POINTS)) {
    it(`${name}: --help and -h print the usage to stdout and exit 0`, async () => {
      for (const help of ['--help', '-h']) {
        const result = await run(file, [help]);
        assert.deepEqual({ code: result.code, stderr: result.stderr }, { code: 0, stderr: '' }, help);
        assert.ok(result.stdout.startsWith(usage), result.stdout);
        assert.match(result.stdout, /\n$/);
      }
    });

    it(`${name}: an unknown option prints the problem and the usage to stderr and exits 2`, async () => {
      const result = await run(file, ['--bogus']);
      assert.deepEqual({ code: result.code, stdout: result.stdout }, { code: 2, stdout: '' });
      assert.ok(result.stderr.startsWith(`${name}: Unknown option '--bogus'.`), result.stderr);
      assert.ok(result.stderr.includes(`\n${usage}`), result.stderr);
    });
  }

  for (const [name, args, problem] of [
    ['verify', ['saved.json'], 'unexpected argument "saved.json"'],
    ['verify', ['--checkpoint'], "Option '--checkpoint <value>' argument missing"],
    ['migrate-to-postgres', ['data/auditor.db'], 'unexpected argument "data/auditor.db"'],
    ['auditor', ['8080'], 'unexpected argument "8080"'],
    ['keys', [], 'name a command: create, list, revoke'],
    ['keys', ['rotate'], 'unknown command "rotate"; the commands are create, list, revoke'],
    ['keys', ['list', 'extra'], 'unexpected argument "extra"'],
    ['keys', ['list', '--scope', 'read'], 'list takes no --scope'],
    ['keys', ['revoke', '--name', 'a', '--scope', 'read'], 'revoke takes no --scope'],
  ] as const) {
    it(`${name} ${args.length === 0 ? '(no command)' : args.join(' ')}: says what is wrong, with the usage, on stderr and exits 2`, async () => {
      const result = await run(ENTRY_POINTS[name].file, [...args]);
      assert.deepEqual({ code: result.code, stdout: result.stdout }, { code: 2, stdout: '' });
      assert.ok(result.stderr.startsWith(`${name}: ${problem}\n${ENTRY_POINTS[name].usage}`), result.stderr);
    });
  }

  for (const [name, { file, failStatus, args }] of Object.entries(ENTRY_POINTS)) {
    it(`${name}: reads .env and the environment through the configuration, refusing each bad variable on a line of its own`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'auditor-entry-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, '.env'), 'PORT=eighty\n');
      const result = await run(file, args, { cwd: dir, env: { AUDITOR_DB: 'mysql://db.internal/audit' } });
      assert.deepEqual(result, {
        code: failStatus,
        stdout: '',
        stderr: `${name}: AUDITOR_DB: "mysql" URLs are not supported; use a postgres:// (or postgresql://) URL, or a SQLite file path\n` +
          `${name}: PORT: expected a whole number from 0 to 65535, got "eighty"\n`,
      });
    });
  }

  it('migrate-to-postgres with a PostgreSQL AUDITOR_DB and no AUDITOR_CHAIN_SECRET: goes on, to find the secret beside the SQLite file', async () => {
    const result = await run(ENTRY_POINTS['migrate-to-postgres'].file, [], { env: { AUDITOR_DB: 'postgres://auditor@127.0.0.1:1/audit' } });
    assert.deepEqual(result, { code: 2, stdout: '', stderr: 'migrate-to-postgres: name the SQLite file to copy: --from data/auditor.db\n' });
  });

  it('migrate-to-postgres without a database to copy into: says so and exits 2, a bad command line', async () => {
    const result = await run(ENTRY_POINTS['migrate-to-postgres'].file, ['--from', 'events.db']);
    assert.deepEqual(result, { code: 2, stdout: '', stderr: 'migrate-to-postgres: name the PostgreSQL database to copy into: --to postgres://user:password@host:port/database\n' });
  });
});
