import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const MIGRATE_CLI = fileURLToPath(new URL('../src/cli/migrate-to-postgres.js', import.meta.url));

export type PostgresTarget = {
  /** The bench's own schema on the server, as the service's AUDITOR_DB. */
  url: string;
  /** Copies the preloaded SQLite file in, with npm run migrate-to-postgres (which also verifies the chain). */
  copyFrom(sqlitePath: string, chainSecret: string): Promise<void>;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
};

/** A fresh schema for the benchmark in the database `serverUrl` names. */
export async function createPostgresTarget(serverUrl: string): Promise<PostgresTarget> {
  const schema = `auditor_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client(serverUrl);
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async copyFrom(sqlitePath, chainSecret) {
      const { stdout } = await promisify(execFile)(process.execPath, [MIGRATE_CLI, '--from', sqlitePath, '--to', url.toString()], {
        env: { ...process.env, AUDITOR_CHAIN_SECRET: chainSecret },
        maxBuffer: 16 * 1024 * 1024,
      });
      process.stdout.write(stdout.split('\n').filter((line) => !line.startsWith('  ')).map((line) => `  ${line}`).join('\n'));
      await admin.query(`ANALYZE ${schema}.events`);
    },
    async drop() {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}
