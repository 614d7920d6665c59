import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync } from 'node:fs';
import pg from 'pg';
import { openPostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import { createTestDatabase, postgresTestUrl, TEST_CHAIN_SECRET, testSigningKeyFile, type TestDatabase } from '../helpers/test-database.js';
import { mountSmallFilesystem, type SmallFilesystem } from '../helpers/small-filesystem.js';
import { readyzBecomes, relayPostgres } from '../helpers/relayed-postgres.js';
import { skipWithoutRoot } from '../helpers/root-only.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

describe('readiness on PostgreSQL', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;

  before(async () => {
    database = await createTestDatabase('postgres');
    // The service reaches the database through a relay the test can take down.
    let url: string;
    ({ proxy, url } = await relayPostgres(database));
    const store = await openPostgresEventStore(url, { chainSecret: TEST_CHAIN_SECRET, signingKeyFile: testSigningKeyFile() });
    server = await startTestServer({ store });
  });
  after(async () => {
    await server.close();
    await proxy.stop();
    await database.drop();
  });

  it('fails /readyz, writes and reads with 503 while the database is down, and recovers when it returns, without a restart', async () => {
    const before = await server.post({ user_id: 'outage', event_type: 'before' });
    assert.equal(before.status, 201);
    const { id: firstId } = (await before.json()) as { id: string };
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

    await proxy.stop();
    assert.equal(await readyzBecomes(server.url, 503, 5000), 503);
    const refused = await server.post({ user_id: 'outage', event_type: 'during' });
    assert.equal(refused.status, 503);
    assert.match(await errorMessage(refused), /not recorded/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'alive, only not ready');
    // Reads say the same, before any byte of an answer: 503, a JSON reason, when to retry.
    const reads: Array<[string, Record<string, string>]> = [
      ['/events?user_id=outage', {}],
      ['/events?user_id=outage', { Accept: 'text/csv' }],
      ['/events?user_id=outage&limit=10', {}],
      [`/events/${firstId}`, {}],
      ['/integrity', {}],
    ];
    for (const [path, headers] of reads) {
      const response = await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': TEST_API_KEY, ...headers } });
      assert.equal(response.status, 503, path);
      assert.equal(response.headers.get('retry-after'), '1', path);
      assert.match(await errorMessage(response), /could not be read/, path);
    }

    await proxy.start();
    assert.equal(await readyzBecomes(server.url, 200, 10_000), 200);
    assert.equal((await server.post({ user_id: 'outage', event_type: 'after' })).status, 201);
    const events = (await (await server.get('user_id=outage')).json()) as Array<{ event_type: string }>;
    assert.deepEqual(events.map((event) => event.event_type), ['before', 'after']);
    assert.equal((await fetch(`${server.url}/events/${firstId}`, { headers: { 'X-API-Key': TEST_API_KEY } })).status, 200);
  });
});

const NOT_READY = { message: 'The database cannot store events now' };

/**
 * A PostgreSQL tablespace on a small file system of its own, which a test can fill; or why there
 * cannot be one here (mounting takes root, and the server must run on this machine as postgres).
 */
async function fullTablespace(): Promise<{ name: string; fs: SmallFilesystem; remove(): Promise<void> } | string> {
  const admin = new pg.Client({ connectionString: postgresTestUrl() });
  const fs = mountSmallFilesystem(3 * 1024);
  if (typeof fs === 'string') return fs;
  const name = `auditor_small_${randomBytes(6).toString('hex')}`;
  try {
    chownSync(fs.dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
    await admin.connect();
    await admin.query(`CREATE TABLESPACE ${name} LOCATION '${fs.dir}'`);
  } catch (error) {
    await admin.end().catch(() => undefined);
    fs.unmount();
    return `cannot make a tablespace on a small file system here (the server must run on this machine, as postgres): ${(error as Error).message}`;
  }
  return {
    name,
    fs,
    async remove() {
      await admin.query(`DROP TABLESPACE ${name}`);
      await admin.end();
      fs.unmount();
    },
  };
}

/** Asserts the whole 503 of /readyz. */
async function assertNotReady(url: string): Promise<void> {
  const response = await fetch(`${url}/readyz`);
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('retry-after'), '1');
  assert.deepEqual(await response.json(), NOT_READY);
}

describe('readiness on PostgreSQL when writes fail but the database answers', () => {
  it('answers /readyz 503 after commits fail (a full disk on the server), and 200 once a probe write succeeds', async () => {
    const server = await startTestServer();
    try {
      assert.equal((await server.post({ user_id: 'disk', event_type: 'before' })).status, 201);
      // The server refuses every write to these tables as a full disk would; SELECT 1 still answers.
      await server.database.execute(`
        CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
        CREATE TRIGGER refuse_event_writes BEFORE INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes();
        CREATE TRIGGER refuse_probe_writes BEFORE INSERT OR UPDATE ON write_probe FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes()`);
      const refused = await server.post({ user_id: 'disk', event_type: 'during' });
      assert.equal(refused.status, 503);
      assert.match(await errorMessage(refused), /not recorded/);
      await assertNotReady(server.url);
      await assertNotReady(server.url); // the throttled probe's answer, until the next probe may run

      await server.database.execute('DROP TRIGGER refuse_event_writes ON events; DROP TRIGGER refuse_probe_writes ON write_probe');
      assert.equal(await readyzBecomes(server.url, 200, 10_000), 200);
      assert.equal((await server.post({ user_id: 'disk', event_type: 'after' })).status, 201);
      assert.equal(await server.database.countEvents('disk'), 2);
    } finally {
      await server.close();
    }
  });

  it('answers /readyz 503 while the events table\'s tablespace is full, though other tables take writes, and 200 once it has room', async (t) => {
    const full = await fullTablespace();
    if (typeof full === 'string') return skipWithoutRoot(t, full);
    t.after(full.remove);
    const server = await startTestServer();
    try {
      assert.equal((await server.post({ user_id: 'tablespace', event_type: 'before' })).status, 201);
      await server.database.execute(`ALTER TABLE events SET TABLESPACE ${full.name}`);
      full.fs.fill();
      // The space left in the table's last page goes to events until one needs a page more.
      let refused: Response | undefined;
      for (let n = 0; n < 1000 && refused === undefined; n++) {
        const response = await server.post({ user_id: 'tablespace', event_type: 'filling', data: { n, padding: 'x'.repeat(100) } });
        if (response.status !== 201) refused = response;
        else await response.arrayBuffer();
      }
      assert.ok(refused !== undefined, 'an event was refused');
      assert.equal(refused.status, 503);
      assert.match(await errorMessage(refused), /not recorded/);
      await assertNotReady(server.url);
      await assertNotReady(server.url); // the throttled probe's answer, until the next probe may run

      full.fs.free();
      assert.equal(await readyzBecomes(server.url, 200, 10_000), 200);
      assert.equal((await server.post({ user_id: 'tablespace', event_type: 'after' })).status, 201);
    } finally {
      await server.close();
    }
  });

  it('answers /readyz 503 while the database only takes read-only sessions (as a standby), before any write fails', async () => {
    // A database of its own, so that making it read-only touches no other test.
    const name = `auditor_read_only_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgresTestUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(postgresTestUrl());
    url.pathname = `/${name}`;
    // Sessions end as a failover would end them; the pool opens new ones, read-only (or not) from the start.
    const endSessions = () => admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    const server = await startTestServer({ store: await openPostgresEventStore(url.toString(), { chainSecret: TEST_CHAIN_SECRET, signingKeyFile: testSigningKeyFile() }) });
    try {
      assert.equal((await server.post({ user_id: 'standby', event_type: 'before' })).status, 201);
      await admin.query(`ALTER DATABASE ${name} SET default_transaction_read_only = on`);
      await endSessions();
      const answers = new pg.Client({ connectionString: url.toString() });
      await answers.connect();
      assert.deepEqual((await answers.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the database answers');
      await answers.end();
      for (let i = 0; i < 3; i++) await assertNotReady(server.url);
      const refused = await server.post({ user_id: 'standby', event_type: 'during' });
      assert.equal(refused.status, 503);
      assert.match(await errorMessage(refused), /not recorded/);

      await admin.query(`ALTER DATABASE ${name} RESET default_transaction_read_only`);
      await endSessions();
      assert.equal(await readyzBecomes(server.url, 200, 10_000), 200);
      assert.equal((await server.post({ user_id: 'standby', event_type: 'after' })).status, 201);
    } finally {
      await server.close();
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('refuses to open a database that takes no writes, saying so', async () => {
    const database = await createTestDatabase('postgres');
    try {
      await (await database.openStore()).close(); // the schema exists: only writing is refused
      if (database.location.kind !== 'postgres') throw new Error('not a PostgreSQL test database');
      const readOnly = new URL(database.location.url);
      readOnly.searchParams.set('options', `${readOnly.searchParams.get('options')} -c default_transaction_read_only=on`);
      await assert.rejects(openPostgresEventStore(readOnly.toString(), { chainSecret: TEST_CHAIN_SECRET, signingKeyFile: testSigningKeyFile() }), {
        message: 'the database is read-only (a standby, or default_transaction_read_only is on): Auditor must write to a primary',
      });
    } finally {
      await database.drop();
    }
  });
});
