import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import Database from '../../src/store/sqlite/sqlite-driver.js';
import { formatCheckpoint } from '../../verifier/checkpoint.js';
import { chainSecretPath } from '../../src/integrity/chain-secret.js';
import { loadSigningKey, newSigningKeyText } from '../../src/integrity/signing-key.js';
import type { StoredEvent } from '../../src/events/event.js';
import { createTestDatabase, TEST_CHAIN_SECRET, testSigningKeyFile, type TestDatabase } from '../helpers/test-database.js';

const VERIFY = fileURLToPath(new URL('../../src/cli/verify.js', import.meta.url));
const BACKENDS = ['sqlite', 'postgres'] as const;
type Backend = (typeof BACKENDS)[number];

/** A log of 20 events, written after a first session that signed the empty tree (so the tree began at size 0). */
type Log = { backend: Backend; database: TestDatabase; events: StoredEvent[]; key: string };

async function writeLog(backend: Backend): Promise<Log> {
  const database = await createTestDatabase(backend);
  // The database owner adds amcheck once (verify never installs anything): the tests run as one.
  if (backend === 'postgres') await database.execute('CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA pg_catalog');
  // An hour between timed checkpoints: the stores sign when they start and when they stop.
  const options = { checkpointIntervalMs: 3_600_000 };
  await (await database.openStore(options)).close();
  const store = await database.openStore(options);
  const events: StoredEvent[] = [];
  for (let i = 0; i < 20; i++) events.push(await store.append({ userId: `u${i % 3}`, eventType: 't', dataJson: `{"i":${i}}`, keyName: 'k' }));
  // A proof of the last event waits for a checkpoint that covers it: the tree of 20 is signed.
  await store.inclusionProof(events[19]!.id);
  const key = store.verifierKey;
  await store.close();
  return { backend, database, events, key };
}

/** Runs `sql` on the log with its append-only triggers out of the way, as someone with the files would. */
async function tamper(log: Log, sql: string): Promise<void> {
  const tables = ['events', 'merkle_leaves', 'checkpoints'];
  const unguard = log.backend === 'sqlite'
    ? tables.map((table) => `DROP TRIGGER IF EXISTS ${table}_are_never_updated; DROP TRIGGER IF EXISTS ${table}_are_never_deleted;`).join(' ')
    : tables.map((table) => `ALTER TABLE ${table} DISABLE TRIGGER ALL;`).join(' ');
  await log.database.execute(`${unguard} ${sql}`);
}

type Run = { code: number; stdout: string; stderr: string };

function verify(log: Log, { args = ['--key', log.key], env = {} }: { args?: string[]; env?: Record<string, string> } = {}): Promise<Run> {
  const { location } = log.database;
  const base: Record<string, string> = location.kind === 'sqlite'
    ? { AUDITOR_DB: location.path }
    : { AUDITOR_DB: location.url, AUDITOR_CHAIN_SECRET: TEST_CHAIN_SECRET, AUDITOR_SIGNING_KEY_FILE: testSigningKeyFile() };
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFY, ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', ...base, ...env } },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

/** The findings of a run, one line each, and its verdict. */
function findings(run: Run): string[] {
  return run.stdout.split('\n').filter((line) => line.startsWith('TAMPERED') || line.startsWith('The log'));
}

function verdict(count: number): string {
  return `The log has been tampered with: ${count} ${count === 1 ? 'finding' : 'findings'}.`;
}

const CHANGED_AFTER_SIGNING = /^TAMPERED \(rewritten\): (the checkpoint of size 20, signed by the key, is not the root|\d+ checkpoints signed by the key \(sizes \d+ to 20\) are not roots) of the tree rebuilt from the events: what (it covers was|they cover were) changed after (it was|they were) signed\.$/;

function withEachBackend(body: (backend: Backend) => void): void {
  for (const backend of BACKENDS) {
    // PostgreSQL when a server is given (as CI does, and requires); said, not silently passed, otherwise.
    const skip = backend === 'postgres' && !process.env.AUDITOR_TEST_POSTGRES_URL && process.env.AUDITOR_REQUIRE_POSTGRES !== '1'
      ? 'PostgreSQL: set AUDITOR_TEST_POSTGRES_URL to run these tamper tests on it too'
      : false;
    describe(`npm run verify on ${backend}: the Merkle tree rebuilt from the stored rows`, { skip }, () => body(backend));
  }
}

withEachBackend((backend) => {
  it('finds an untouched log intact, says what it checked with which key, and exits 0', async () => {
    const log = await writeLog(backend);
    try {
      const run = await verify(log);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.equal(run.stderr, '');
      const lines = run.stdout.trimEnd().split('\n');
      const database = backend === 'sqlite'
        ? /^Database: SQLite PRAGMA integrity_check found nothing wrong \([\d.]+ s\)\.$/
        : /^Database: PostgreSQL amcheck bt_index_check on .*events_pkey.* found nothing wrong \([\d.]+ s\)\.$/;
      assert.match(lines[0]!, database);
      assert.equal(lines[1], `Key: ${log.key}, given with --key.`);
      assert.match(lines[2]!, /^Tree: rebuilt from 20 events over seqs 1 to 20 in [\d.]+ s \(\d+ events\/s, 1 worker thread\), and compared with every stored hash\.$/);
      assert.match(lines[3]!, /^Checkpoints: \d+ checked with the key; the latest, of size 20, is the root of the rebuilt tree\.$/);
      assert.deepEqual(lines.slice(4), ['Chain: 20 chained events checked link by link with the chain secret.', 'The log is intact.']);
    } finally {
      await log.database.drop();
    }
  });

  it('names the key file beside the data as trusted without --key, and checks the tree without the chain secret', async () => {
    const log = await writeLog(backend);
    try {
      const { location } = log.database;
      if (location.kind === 'sqlite') rmSync(chainSecretPath(location.path));
      const keyFile = location.kind === 'sqlite' ? `${location.path}.signing.key` : testSigningKeyFile();
      const run = await verify(log, { args: [], env: location.kind === 'sqlite' ? {} : { AUDITOR_CHAIN_SECRET: '' } });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const lines = run.stdout.trimEnd().split('\n');
      assert.equal(lines[1], `Key: ${log.key}, read from the signing key file ${keyFile}, which is kept beside the data: trusted, not checked; whoever controls the files could have replaced it (pass --key with the key you hold).`);
      assert.deepEqual(lines.slice(4), ['Chain: not checked (no chain secret at hand); the tree does not need it.', 'The log is intact.']);
    } finally {
      await log.database.drop();
    }
  });

  it('names an event whose data was edited, its broken link, and the checkpoint that no longer holds', async () => {
    const log = await writeLog(backend);
    try {
      await tamper(log, `UPDATE events SET data = '{"i":99}' WHERE seq = 7`);
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const [link, leaf, checkpoint, ...rest] = findings(run);
      const id = log.events[6]!.id;
      assert.equal(leaf, `TAMPERED (edited): event ${id} (seq 7) does not match its leaf in the tree: its fields or data were changed.`);
      assert.equal(link, `TAMPERED (edited): event ${id} (seq 7) breaks the chain: its chain hash does not match it and the event before, or the chain secret is not the one that made it.`);
      assert.match(checkpoint!, CHANGED_AFTER_SIGNING);
      assert.deepEqual(rest, [verdict(3)]);
    } finally {
      await log.database.drop();
    }
  });

  it('names an event whose user_id was edited, even with the tree checked alone', async () => {
    const log = await writeLog(backend);
    try {
      await tamper(log, `UPDATE events SET user_id = 'someone-else' WHERE seq = 20`);
      const { location } = log.database;
      if (location.kind === 'sqlite') rmSync(chainSecretPath(location.path));
      const run = await verify(log, { env: location.kind === 'sqlite' ? {} : { AUDITOR_CHAIN_SECRET: '' } });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const [leaf, checkpoint, ...rest] = findings(run);
      assert.equal(leaf, `TAMPERED (edited): event ${log.events[19]!.id} (seq 20) does not match its leaf in the tree: its fields or data were changed.`);
      assert.match(checkpoint!, CHANGED_AFTER_SIGNING);
      assert.deepEqual(rest, [verdict(2)]);
    } finally {
      await log.database.drop();
    }
  });

  it('names a forged event inserted before the first one, which a query by user_id reads back', async () => {
    const log = await writeLog(backend);
    try {
      const forged = '01900000-0000-7000-8000-000000000000';
      const ts = log.events[0]!.timestampMs - 1;
      await tamper(log, `INSERT INTO events (seq, id, ts, user_id, event_type, data, key_name) VALUES (0, '${forged}', ${ts}, 'u1', 't', '{"forged":true}', 'k')`);
      const store = await log.database.openStore({ checkpointIntervalMs: 3_600_000 });
      const read: string[] = [];
      try {
        for await (const chunk of store.query({ userId: 'u1', eventTypes: [], dataFilters: [], order: 'asc' })) read.push(...chunk.map((event) => event.id));
      } finally {
        await store.close();
      }
      assert.equal(read[0], forged);
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.deepEqual(findings(run), [
        `TAMPERED (inserted): event ${forged} (seq 0) has a seq below 1, before the first event: no event the service writes has one.`,
        verdict(1),
      ]);
    } finally {
      await log.database.drop();
    }
  });

  it('names a forged event appended without a leaf, nor a chain hash (which takes the secret)', async () => {
    const log = await writeLog(backend);
    try {
      const ts = log.events[19]!.timestampMs + 1;
      await tamper(log, `INSERT INTO events (seq, id, ts, user_id, event_type, data, key_name) VALUES (21, '01900000-0000-7000-8000-000000000021', ${ts}, 'u1', 't', '{}', 'k')`);
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.deepEqual(findings(run), [
        `TAMPERED (inserted): the event at seq 21 has no leaf in the tree: it was added behind the service's back, or its leaf was removed.`,
        'TAMPERED (edited): event 01900000-0000-7000-8000-000000000021 (seq 21) has no chain hash, yet the chain began before it: its chain hash was removed.',
        verdict(2),
      ]);
    } finally {
      await log.database.drop();
    }
  });

  it('names a deleted event and its leaf, and the event after it whose link breaks', async () => {
    const log = await writeLog(backend);
    try {
      await tamper(log, 'DELETE FROM events WHERE seq = 7; DELETE FROM merkle_leaves WHERE seq = 7');
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const [gone, link, checkpoint, ...rest] = findings(run);
      assert.equal(gone, 'TAMPERED (deleted): seq 7 has neither an event nor a leaf in the tree: its event was removed with its leaf.');
      assert.equal(link, `TAMPERED (edited): event ${log.events[7]!.id} (seq 8) breaks the chain: its chain hash does not match it and the event before, or the chain secret is not the one that made it.`);
      assert.match(checkpoint!, CHANGED_AFTER_SIGNING);
      assert.deepEqual(rest, [verdict(3)]);
    } finally {
      await log.database.drop();
    }
  });

  it('names two events whose contents were swapped as moved', async () => {
    const log = await writeLog(backend);
    try {
      const columns = 'id, ts, user_id, event_type, data, hash';
      await tamper(log, `
        CREATE TEMP TABLE swapped AS SELECT seq, ${columns} FROM events WHERE seq IN (3, 8);
        UPDATE events SET id = '01900000-0000-7000-8000-0000000000ff' WHERE seq = 8;
        UPDATE events SET (${columns}) = (SELECT ${columns} FROM swapped WHERE seq = 8) WHERE seq = 3;
        UPDATE events SET (${columns}) = (SELECT ${columns} FROM swapped WHERE seq = 3) WHERE seq = 8;
        DROP TABLE swapped`);
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const lines = findings(run);
      const [third, eighth] = [log.events[2]!.id, log.events[7]!.id];
      assert.deepEqual(lines.filter((line) => line.startsWith('TAMPERED (reordered)')), [
        `TAMPERED (reordered): event ${eighth} (seq 3) matches the leaf of seq 8, not its own: events were moved.`,
        `TAMPERED (reordered): event ${third} (seq 8) matches the leaf of seq 3, not its own: events were moved.`,
      ]);
      // Each moved event and the one after it break the chain.
      assert.deepEqual(lines.filter((line) => line.includes('the chain')), [3, 8].map((seq) =>
        `TAMPERED (edited): the events at seqs ${seq} to ${seq + 1} (2) break the chain: their chain hashes do not match them and the event before, or the chain secret is not the one that made them.`));
      assert.match(lines[lines.length - 2]!, CHANGED_AFTER_SIGNING);
      assert.equal(lines[lines.length - 1], verdict(5));
    } finally {
      await log.database.drop();
    }
  });

  it('names a truncated log with both sizes: the rows, leaves and nodes after seq 17 removed', async () => {
    const log = await writeLog(backend);
    try {
      await tamper(log, 'DELETE FROM events WHERE seq > 17; DELETE FROM merkle_leaves WHERE seq > 17');
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.deepEqual(findings(run), [
        'TAMPERED (truncated): the log holds 17 events, but its latest checkpoint, signed by the key, covers 20: the events after seq 17 were removed.',
        verdict(1),
      ]);
      assert.match(run.stdout, /^Checkpoints: \d+ checked with the key; the latest, of size 20, is NOT the root of the rebuilt tree\.$/m);
    } finally {
      await log.database.drop();
    }
  });

  it('names every event whose chain hash was removed, so that none looks older than the chain', async () => {
    const log = await writeLog(backend);
    try {
      await tamper(log, 'UPDATE events SET hash = NULL');
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.deepEqual(findings(run), [
        'TAMPERED (edited): the events at seqs 1 to 20 (20) have no chain hash, yet they were written after the tree began (the first checkpoint covers 0 events): their chain hashes were removed.',
        verdict(1),
      ]);
    } finally {
      await log.database.drop();
    }
  });

  it('names a stored node of the tree that was changed', async () => {
    const log = await writeLog(backend);
    try {
      // Seq 2's leaf row holds the hash of leaves 0 and 1: flip it to another 32 bytes.
      const other = backend === 'sqlite' ? `x'${'00'.repeat(32)}'` : `'\\x${'00'.repeat(32)}'::bytea`;
      await tamper(log, `UPDATE merkle_leaves SET nodes = ${other} WHERE seq = 2`);
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.deepEqual(findings(run), [
        'TAMPERED (rewritten): the stored hash of leaves 0 to 1 is not the hash of the two below it: the tree\'s nodes were changed.',
        verdict(1),
      ]);
    } finally {
      await log.database.drop();
    }
  });

  it('names the latest checkpoint re-signed with another key, and every checkpoint when --key is not the log\'s', async () => {
    const log = await writeLog(backend);
    try {
      // Another key of the same name signs the same checkpoint text: only the key tells them apart.
      const name = log.key.split('+')[0]!;
      const keyFile = join(tmpdir(), `other-${process.pid}-${backend}.key`);
      writeFileSync(keyFile, newSigningKeyText(name), { mode: 0o600 });
      const other = loadSigningKey(keyFile, { origin: undefined, create: false });
      rmSync(keyFile);
      const otherKey = other.verifierKey.split('+').slice(0, 2).join('+');
      const wrongKey = await verify(log, { args: ['--key', other.verifierKey] });
      assert.equal(wrongKey.code, 1);
      assert.match(findings(wrongKey)[0]!, new RegExp(`^TAMPERED \\(re-signed\\): the checkpoint of size 0 does not verify with the key ${escape(otherKey)} \\(it carries no signature by the key ${escape(otherKey)}\\), nor do \\d+ more \\(up to size 20\\): signed by another key, or edited\\.$`));

      const text = formatCheckpoint(name, 20, await readLatestRoot(log));
      await tamper(log, `UPDATE checkpoints SET note = '${text}\n${other.sign(text)}' WHERE tree_size = 20`);
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const logKey = log.key.split('+').slice(0, 2).join('+');
      assert.deepEqual(findings(run), [
        `TAMPERED (re-signed): the checkpoint of size 20 does not verify with the key ${logKey} (it carries no signature by the key ${logKey}): signed by another key, or edited.`,
        verdict(1),
      ]);
    } finally {
      await log.database.drop();
    }
  });
});

async function readLatestRoot(log: Log): Promise<Buffer> {
  const store = await log.database.openStore({ checkpointIntervalMs: 3_600_000 });
  try {
    const latest = await store.signedCheckpoint();
    assert.equal(latest?.size, 20);
    return latest.rootHash;
  } finally {
    await store.close();
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe('npm run verify runs the database\'s own integrity check', () => {
  it('names an index rebuilt through writable_schema to skip an event, which a query by user_id then misses', async () => {
    const log = await writeLog('sqlite');
    try {
      const { path } = log.database.location as { path: string };
      const db = new Database(path);
      db.unsafeMode(true); // better-sqlite3 refuses writable_schema otherwise: an attacker's tool need not
      db.exec(`
        DROP INDEX events_by_user_time;
        CREATE INDEX events_by_user_time ON events (user_id, ts) WHERE seq <> 7;
        PRAGMA writable_schema = ON;
        UPDATE sqlite_schema SET sql = 'CREATE INDEX events_by_user_time ON events (user_id, ts)' WHERE name = 'events_by_user_time';
        PRAGMA writable_schema = OFF;`);
      db.close();
      assert.equal(await log.database.countEvents('u0'), 6, 'a query by user_id misses event 7 (u0 has 7 events)');
      const run = await verify(log);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /^Database: SQLite PRAGMA integrity_check found damage \([\d.]+ s\):$/m);
      assert.deepEqual(findings(run), [
        'TAMPERED (damaged): wrong # of entries in index events_by_user_time.',
        'TAMPERED (damaged): row 7 missing from index events_by_user_time.',
        verdict(2),
      ]);
    } finally {
      await log.database.drop();
    }
  });
});
