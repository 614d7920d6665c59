import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '../../src/store/sqlite/sqlite-driver.js';
import pg from 'pg';
import type { DatabaseLocation } from '../../src/config.js';
import { findChainSecret } from '../../src/integrity/chain-secret.js';
import { newSigningKeyText } from '../../src/integrity/signing-key.js';
import type { ChainRow } from '../../src/integrity/verify-chain.js';
import type { EventStore, StoreOptions } from '../../src/store/event-store.js';
import { openEventReader, openEventStore } from '../../src/store/open-event-store.js';

/**
 * Which database the contract suite runs on: SQLite unless AUDITOR_TEST_BACKEND=postgres, which
 * test/run-postgres-suite.ts sets (with AUDITOR_TEST_POSTGRES_URL) for its second run.
 */
export const TEST_BACKEND: 'sqlite' | 'postgres' = process.env.AUDITOR_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

export const TEST_CHAIN_SECRET = 'test-chain-secret-0123456789abcdef';

let signingKeyFile: string | undefined;

/**
 * A signing key file for the tests' PostgreSQL stores and services (AUDITOR_SIGNING_KEY_FILE), made
 * once per test process, as an operator makes one for all instances.
 */
export function testSigningKeyFile(): string {
  if (signingKeyFile === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'auditor-signing-key-'));
    signingKeyFile = join(dir, 'signing.key');
    writeFileSync(signingKeyFile, newSigningKeyText('auditor.test/log'), { mode: 0o600 });
  }
  return signingKeyFile;
}

/** A fresh, empty database of the backend under test, with what tests need to look inside it. */
export type TestDatabase = {
  location: DatabaseLocation;
  openStore(options?: StoreOptions): Promise<EventStore>;
  /** The secret the chain is keyed with (SQLite: the file beside the database, once a store made it). */
  chainSecret(): Buffer;
  /** Rows in the events table (of one user, when given), read beside the service. */
  countEvents(userId?: string): Promise<number>;
  /** The key name recorded with the event `id`. */
  keyNameOf(id: string): Promise<string | null | undefined>;
  /** Moves every idempotency record `ms` into the past, as if that time had gone by. */
  ageIdempotencyRecords(ms: number): Promise<void>;
  /** The Idempotency-Keys recorded, with when, oldest first. */
  idempotencyKeys(): Promise<Array<{ keyName: string; idempotencyKey: string; createdMs: number }>>;
  /** Runs `sql` (statements of this backend's dialect) in the database, beside the service. */
  execute(sql: string): Promise<void>;
  /** The rows one SELECT (of this backend's dialect, without parameters) answers, read beside the service. */
  select(sql: string): Promise<Array<Record<string, unknown>>>;
  /** Every event with what the chain covers, in seq order, read beside the service as `npm run verify` reads it. */
  chainRows(): Promise<ChainRow[]>;
  /** Deletes the database and everything in it. */
  drop(): Promise<void>;
};

/**
 * A new database for one test: a SQLite file in a temporary folder, or a schema of its own in
 * the PostgreSQL database AUDITOR_TEST_POSTGRES_URL names (so tests never see each other's events
 * and can run in parallel).
 */
export async function createTestDatabase(backend = TEST_BACKEND): Promise<TestDatabase> {
  const database = backend === 'postgres' ? await createPostgresTestDatabase() : createSqliteTestDatabase();
  return { ...database, chainRows: () => readChainRows(database.location) };
}

async function readChainRows(location: DatabaseLocation): Promise<ChainRow[]> {
  const reader = await openEventReader(location);
  try {
    const rows: ChainRow[] = [];
    for await (const row of reader.chainRows()) rows.push(row);
    return rows;
  } finally {
    await reader.close();
  }
}

function createSqliteTestDatabase(): Omit<TestDatabase, 'chainRows'> {
  const dir = mkdtempSync(join(tmpdir(), 'auditor-test-'));
  const path = join(dir, 'auditor.db');
  const withDb = <T>(use: (db: Database.Database) => T): T => {
    const db = new Database(path);
    try {
      return use(db);
    } finally {
      db.close();
    }
  };
  return {
    location: { kind: 'sqlite', path },
    openStore: (options = {}) => openEventStore({ kind: 'sqlite', path }, options),
    chainSecret: () => findChainSecret(undefined, path) ?? assert.fail(`no chain secret beside ${path}`),
    countEvents: async (userId) =>
      withDb((db) => (userId === undefined
        ? db.prepare('SELECT count(*) FROM events').pluck().get()
        : db.prepare('SELECT count(*) FROM events WHERE user_id = ?').pluck().get(userId)) as number),
    keyNameOf: async (id) => withDb((db) => db.prepare('SELECT key_name FROM events WHERE id = ?').pluck().get(id) as string | null | undefined),
    ageIdempotencyRecords: async (ms) => {
      withDb((db) => db.prepare('UPDATE idempotency SET created_ms = created_ms - ?').run(ms));
    },
    idempotencyKeys: async () => withDb((db) => db.prepare(
      `SELECT key_name AS keyName, idempotency_key AS idempotencyKey, created_ms AS createdMs FROM idempotency ORDER BY created_ms, key_name, idempotency_key`,
    ).all() as Array<{ keyName: string; idempotencyKey: string; createdMs: number }>),
    execute: async (sql) => withDb((db) => void db.exec(sql)),
    select: async (sql) => withDb((db) => db.prepare(sql).all() as Array<Record<string, unknown>>),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The server the PostgreSQL tests use; they are not run without one (see run-postgres-suite.ts). */
export function postgresTestUrl(): string {
  const url = process.env.AUDITOR_TEST_POSTGRES_URL;
  if (url === undefined || url === '') throw new Error('AUDITOR_TEST_POSTGRES_URL is not set');
  return url;
}

/** `url` with its connections' search_path set to `schema`. */
export function withSearchPath(url: string, schema: string): string {
  const withSchema = new URL(url);
  withSchema.searchParams.set('options', `-c search_path=${schema}`);
  return withSchema.toString();
}

async function createPostgresTestDatabase(): Promise<Omit<TestDatabase, 'chainRows'>> {
  const schema = `auditor_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: postgresTestUrl(), max: 2 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = withSearchPath(postgresTestUrl(), schema);
  return {
    location: { kind: 'postgres', url },
    openStore: (options = {}) => openEventStore({ kind: 'postgres', url }, { chainSecret: TEST_CHAIN_SECRET, signingKeyFile: testSigningKeyFile(), ...options }),
    chainSecret: () => Buffer.from(TEST_CHAIN_SECRET),
    countEvents: async (userId) => {
      const { rows } = userId === undefined
        ? await admin.query(`SELECT count(*)::int AS n FROM ${schema}.events`)
        : await admin.query(`SELECT count(*)::int AS n FROM ${schema}.events WHERE user_id = $1`, [userId]);
      return rows[0].n as number;
    },
    keyNameOf: async (id) => (await admin.query(`SELECT key_name FROM ${schema}.events WHERE id = $1`, [id])).rows[0]?.key_name,
    ageIdempotencyRecords: async (ms) => {
      await admin.query(`UPDATE ${schema}.idempotency SET created_ms = created_ms - $1`, [ms]);
    },
    idempotencyKeys: async () => (await admin.query<{ keyName: string; idempotencyKey: string; createdMs: number }>(
      `SELECT key_name AS "keyName", idempotency_key AS "idempotencyKey", created_ms::float8 AS "createdMs" FROM ${schema}.idempotency
       ORDER BY created_ms, key_name, idempotency_key`,
    )).rows,
    execute: async (sql) => {
      const client = await admin.connect();
      try {
        await client.query(`BEGIN; SET LOCAL search_path TO ${schema}; ${sql}; COMMIT`);
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
    select: async (sql) => {
      const client = await admin.connect();
      try {
        await client.query(`SET search_path TO ${schema}`);
        return (await client.query(sql)).rows as Array<Record<string, unknown>>;
      } finally {
        await client.query('RESET search_path').catch(() => undefined);
        client.release();
      }
    },
    drop: async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}
