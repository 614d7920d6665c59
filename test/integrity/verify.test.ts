import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Database from '../../src/store/sqlite/sqlite-driver.js';
import { chainSecretPath } from '../../src/integrity/chain-secret.js';
import { checkpointToJson } from '../../src/integrity/checkpoint-json.js';
import { openSqliteEventStore } from '../../src/store/sqlite/sqlite-event-store.js';
import { startTestServer, TEST_API_KEY } from '../helpers/test-server.js';

const VERIFY = fileURLToPath(new URL('../../src/cli/verify.js', import.meta.url));
const SECRET = 'chain-secret-for-tests-0123456789abcdef';

function verify(dbPath: string, args: string[] = [], secret = SECRET): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFY, ...args], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '', AUDITOR_DB: dbPath, AUDITOR_CHAIN_SECRET: secret },
    }, (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

/** A writable copy of the reference log, its append-only triggers dropped so a test can tamper. */
function tamperableCopy(source: string, name: string): { path: string; db: Database.Database } {
  const path = join(dirname(source), `${name}.db`);
  copyFileSync(source, path);
  copyFileSync(`${source}.signing.key`, `${path}.signing.key`); // the key beside it, as a backup holds both
  const db = new Database(path);
  db.exec('DROP TRIGGER events_are_never_updated; DROP TRIGGER events_are_never_deleted;');
  return { path, db };
}
const dirname = (path: string) => path.slice(0, path.lastIndexOf('/'));

/** The findings of a run, one line each, and its verdict. */
function findings(run: { stdout: string }): string[] {
  return run.stdout.split('\n').filter((line) => line.startsWith('TAMPERED') || line.startsWith('The log'));
}

describe('the tamper-evident chain and npm run verify', () => {
  let dir: string;
  let reference: string;
  let checkpoint: string;
  const ids: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-chain-'));
    reference = join(dir, 'reference.db');
    // Written in two sessions: the chain must carry on across a restart.
    for (let session = 0; session < 2; session++) {
      const store = openSqliteEventStore(reference, { chainSecret: SECRET });
      const stored = await Promise.all(Array.from({ length: 10 }, (_, i) =>
        store.append({ userId: `u${i % 3}`, eventType: 't', dataJson: `{"session":${session},"i":${i}}`, keyName: `key-${i % 2}` })));
      ids.push(...stored.map((e) => e.id));
      if (session === 1) {
        checkpoint = join(dir, 'checkpoint.json');
        writeFileSync(checkpoint, JSON.stringify(checkpointToJson(await store.checkpoint())));
      }
      await store.close();
    }
    // Checkpoint the whole file so copies carry every event in the main file.
    const db = new Database(reference);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds an intact log intact, with and without a checkpoint, and says how fast', async () => {
    const plain = await verify(reference);
    assert.equal(plain.code, 0, plain.stdout);
    assert.match(plain.stdout, /^Tree: rebuilt from 20 events over seqs 1 to 20 in [\d.]+ s \(\d+ events\/s, 1 worker thread\), and compared with every stored hash\.$/m);
    assert.deepEqual(plain.stdout.trimEnd().split('\n').slice(-2), ['Chain: 20 chained events checked link by link with the chain secret.', 'The log is intact.']);
    const checked = await verify(reference, ['--checkpoint', checkpoint]);
    assert.equal(checked.code, 0, checked.stdout);
    assert.deepEqual(checked.stdout.trimEnd().split('\n').slice(-2), [
      'Checkpoint (GET /integrity) holds: all 20 events it covers are present and unchanged.',
      'The log is intact.',
    ]);
  });

  // Every field the chain covers, changed in turn: in an event amid the log, and in its last event,
  // which no later link vouches for.
  const tampering: ReadonlyArray<[string, string, (row: Record<string, unknown>) => unknown]> = [
    ['its id is changed', 'id', () => '0190a000-0000-7000-8000-000000000000'],
    ['its timestamp is changed', 'ts', (row) => Number(row.ts) + 1],
    ['its user_id is changed', 'user_id', (row) => `${String(row.user_id)}x`],
    ['its event_type is changed', 'event_type', () => 'rewritten'],
    ['its data is changed', 'data', () => '{"session":0,"i":99}'],
    ['the name of the key that wrote it is changed', 'key_name', () => 'someone-else'],
    ['the name of the key that wrote it is removed', 'key_name', () => null],
  ];
  for (const [position, seq] of [['an event amid the log', 7], ['the last event of the log', 20]] as const) {
    for (const [index, [what, column, rewrite]] of tampering.entries()) {
      it(`names ${position} when ${what}, and exits 1`, async () => {
        const { path, db } = tamperableCopy(reference, `tampered-${seq}-${index}`);
        const row = db.prepare('SELECT * FROM events WHERE seq = ?').get(seq) as Record<string, unknown>;
        const value = rewrite(row);
        assert.notEqual(value, row[column]);
        db.prepare(`UPDATE events SET ${column} = ? WHERE seq = ?`).run(value, seq);
        db.close();
        const result = await verify(path);
        assert.equal(result.code, 1, result.stdout);
        const id = column === 'id' ? value : ids[seq - 1];
        const lines = findings(result);
        assert.deepEqual(lines.slice(0, 2), [
          `TAMPERED (edited): event ${String(id)} (seq ${seq}) breaks the chain: its chain hash does not match it and the event before, or the chain secret is not the one that made it.`,
          `TAMPERED (edited): event ${String(id)} (seq ${seq}) does not match its leaf in the tree: its fields or data were changed.`,
        ]);
        // The latest checkpoint, signed as the store closed, covers every event: its root is gone too.
        assert.match(lines[2]!, /^TAMPERED \(rewritten\): .*not (the root|roots) of the tree rebuilt from the events/);
        assert.deepEqual(lines.slice(3), ['The log has been tampered with: 3 findings.']);
      });
    }
  }

  it('counts the events recorded before the chain began, in words that fit one or several', async () => {
    // A log begun by a version without the chain: its first events have no link, and the chain
    // starts after them from the genesis hash.
    for (const count of [1, 2]) {
      // A folder each: a database of its own, not a new one beside the reference's files.
      const path = join(dir, `unchained-${count}`, 'events.db');
      await openSqliteEventStore(path, { chainSecret: SECRET }).close();
      const db = new Database(path);
      const insert = db.prepare("INSERT INTO events (seq, id, ts, user_id, event_type, data) VALUES (?, ?, 0, 'early', 't', '{}')");
      for (let seq = 1; seq <= count; seq++) insert.run(seq, `00000000-0000-7000-8000-00000000000${seq}`);
      // Nor had that version a tree: the checkpoint of the empty tree the store just signed goes,
      // and the tree begins over these events when the store opens again.
      db.exec('DROP TRIGGER checkpoints_are_never_deleted; DELETE FROM checkpoints;');
      db.close();
      const store = openSqliteEventStore(path, { chainSecret: SECRET });
      for (let i = 0; i < 3; i++) await store.append({ userId: 'later', eventType: 't', dataJson: '{}', keyName: 'k' });
      await store.close();
      const result = await verify(path);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /^Chain: 3 chained events checked link by link with the chain secret\.$/m);
      const line = count === 1
        ? '1 event recorded before the chain began is not covered by it.'
        : '2 events recorded before the chain began are not covered by it.';
      assert.ok(result.stdout.split('\n').includes(line), result.stdout);
    }
  });

  it('names a removed event and the event after it', async () => {
    const { path, db } = tamperableCopy(reference, 'removed');
    db.prepare('DELETE FROM events WHERE id = ?').run(ids[4]);
    db.close();
    const result = await verify(path);
    assert.equal(result.code, 1);
    assert.deepEqual(findings(result).slice(0, 2), [
      'TAMPERED (deleted): seq 5 has a leaf in the tree but no event: its event was removed.',
      `TAMPERED (edited): event ${ids[5]} (seq 6) breaks the chain: its chain hash does not match it and the event before, or the chain secret is not the one that made it.`,
    ]);
  });

  it('catches two events swapped', async () => {
    const { path, db } = tamperableCopy(reference, 'swapped');
    const row = db.prepare('SELECT id, ts, user_id, event_type, data, key_name, hash FROM events WHERE seq = ?');
    const a = row.get(3) as Record<string, unknown>;
    const b = row.get(8) as Record<string, unknown>;
    const write = db.prepare('UPDATE events SET id = @id, ts = @ts, user_id = @user_id, event_type = @event_type, data = @data, key_name = @key_name, hash = @hash WHERE seq = @seq');
    db.transaction(() => {
      write.run({ ...b, id: 'temporary', seq: 3 });
      write.run({ ...a, seq: 8 });
      write.run({ ...b, seq: 3 });
    })();
    db.close();
    const result = await verify(path);
    assert.equal(result.code, 1);
    assert.deepEqual(findings(result).filter((line) => line.startsWith('TAMPERED (reordered)')), [
      `TAMPERED (reordered): event ${ids[7]} (seq 3) matches the leaf of seq 8, not its own: events were moved.`,
      `TAMPERED (reordered): event ${ids[2]} (seq 8) matches the leaf of seq 3, not its own: events were moved.`,
    ]);
  });

  it('proves a truncated tail with a checkpoint saved before it, and from the leaves left behind', async () => {
    const { path, db } = tamperableCopy(reference, 'truncated');
    db.prepare('DELETE FROM events WHERE seq > 17').run();
    db.close();
    // The chain that is left is consistent; the tree's leaves are still there.
    const result = await verify(path, ['--checkpoint', checkpoint]);
    assert.equal(result.code, 1);
    assert.deepEqual(findings(result), [
      'TAMPERED (deleted): seqs 18 to 20 (3) have a leaf in the tree but no event: their events were removed.',
      'TAMPERED (rewritten): the checkpoint of size 20, signed by the key, is not the root of the tree rebuilt from the events: what it covers was changed after it was signed.',
      `TAMPERED (truncated): the checkpoint saved from GET /integrity fails: its last event ${ids[19]} is gone: events it covered were removed (the log was truncated or rewritten).`,
      'The log has been tampered with: 3 findings.',
    ]);
  });

  it('refuses a forged checkpoint and a wrong secret', async () => {
    const forged = join(dir, 'forged.json');
    const saved = JSON.parse((await import('node:fs')).readFileSync(checkpoint, 'utf8')) as Record<string, unknown>;
    writeFileSync(forged, JSON.stringify({ ...saved, event_count: 15 }));
    const result = await verify(reference, ['--checkpoint', forged]);
    assert.equal(result.code, 1);
    assert.deepEqual(findings(result), [
      'TAMPERED (re-signed): the checkpoint saved from GET /integrity fails: its signature is not valid: it was edited, or made with another secret.',
      'The log has been tampered with: 1 finding.',
    ]);
    const wrong = await verify(reference, [], 'another-secret-0123456789abcdef-xyz');
    assert.equal(wrong.code, 1);
    assert.deepEqual(findings(wrong), [
      'TAMPERED (edited): the events at seqs 1 to 20 (20) break the chain: their chain hashes do not match them and the event before, or the chain secret is not the one that made them.',
      'The log has been tampered with: 1 finding.',
    ]);
  });

  it('cannot check with a file that is not a checkpoint: says why, exit 2', async () => {
    const notOne = join(dir, 'not-a-checkpoint.json');
    writeFileSync(notOne, JSON.stringify({ event_count: 20, last_id: ids[19] }));
    assert.deepEqual(await verify(reference, ['--checkpoint', notOne]), {
      code: 2,
      stdout: '',
      stderr: `verify: ${notOne} is not a checkpoint saved from GET /integrity: its head_hash is not a string\n`,
    });
  });

  it('keeps one chain when two stores write to the same file', async () => {
    const path = join(dir, 'two-writers', 'events.db');
    const first = openSqliteEventStore(path, { chainSecret: SECRET });
    const second = openSqliteEventStore(path, { chainSecret: SECRET });
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        ...Array.from({ length: 5 }, (_, i) => first.append({ userId: 'a', eventType: 't', dataJson: `{"r":${round},"i":${i}}` })),
        ...Array.from({ length: 5 }, (_, i) => second.append({ userId: 'b', eventType: 't', dataJson: `{"r":${round},"i":${i}}` })),
      ]);
    }
    await Promise.all([first.close(), second.close()]);
    const result = await verify(path);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /^Chain: 50 chained events checked link by link with the chain secret\.$/m);
  });

  it('keeps a generated secret beside the database, readable by its owner only', async () => {
    const path = join(dir, 'generated', 'events.db');
    const store = openSqliteEventStore(path);
    await store.append({ userId: 'u', eventType: 't', dataJson: '{}' });
    await store.close();
    assert.equal(statSync(chainSecretPath(path)).mode & 0o777, 0o600);
    const reopened = openSqliteEventStore(path); // the same secret again: the chain continues
    await reopened.append({ userId: 'u', eventType: 't', dataJson: '{}' });
    await reopened.close();
    const result = await new Promise<number>((resolve) => {
      execFile(process.execPath, [VERIFY], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', AUDITOR_DB: path } },
        (error) => resolve(error === null ? 0 : Number(error.code)));
    });
    assert.equal(result, 0);
  });
});

describe('GET /integrity', () => {
  it('answers a signed checkpoint of the chain head that grows with the log', async () => {
    const server = await startTestServer();
    try {
      const get = () => fetch(`${server.url}/integrity`, { headers: { 'X-API-Key': TEST_API_KEY } });
      const empty = await get();
      assert.equal(empty.status, 200);
      const first = (await empty.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(first), ['event_count', 'last_id', 'head_hash', 'created_at', 'signature']);
      assert.equal(first.event_count, 0);
      assert.equal(first.last_id, null);

      const posted = (await (await server.post({ user_id: 'u', event_type: 't' })).json()) as { id: string };
      const second = (await (await get()).json()) as Record<string, unknown>;
      assert.equal(second.event_count, 1);
      assert.equal(second.last_id, posted.id);
      assert.match(String(second.head_hash), /^[0-9a-f]{64}$/);
      assert.match(String(second.signature), /^[0-9a-f]{64}$/);
      assert.notEqual(second.head_hash, first.head_hash);

      assert.equal((await fetch(`${server.url}/integrity`)).status, 401);
    } finally {
      await server.close();
    }
  });
});
