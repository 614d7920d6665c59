import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from '../../src/store/sqlite/sqlite-driver.js';
import { createJsonLogger } from '../../src/ops/logger.js';
import { openSqliteEventStore } from '../../src/store/sqlite/sqlite-event-store.js';

const mode = (path: string): number => statSync(path).mode & 0o777;

/** A logger that keeps every line, parsed. */
function keptLines(): { log: ReturnType<typeof createJsonLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { log: createJsonLogger((text) => lines.push(JSON.parse(text) as Record<string, unknown>)), lines };
}

describe('the SQLite database files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the database, its -wal and -shm, and its folder for their owner only, whatever the umask', async () => {
    const umask = process.umask(0o022); // the usual default, under which files come out -rw-r--r--
    try {
      const path = join(dir, 'data', 'auditor.db');
      const store = openSqliteEventStore(path);
      try {
        await store.append({ userId: 'u', eventType: 't', dataJson: '{}' });
        assert.deepEqual([path, `${path}-wal`, `${path}-shm`].map(mode), [0o600, 0o600, 0o600]);
        assert.equal(mode(join(dir, 'data')), 0o700);
        assert.equal(mode(join(dir, 'data', 'chain.secret')), 0o600);
      } finally {
        await store.close();
      }
    } finally {
      process.umask(umask);
    }
  });

  it('leaves its marker beside a database an earlier version created without one, at its next start, and keeps it after', async () => {
    const path = join(dir, 'auditor.db');
    await openSqliteEventStore(path).close();
    rmSync(`${path}.created`); // as a version that wrote no marker left it
    await openSqliteEventStore(path).close();
    assert.equal(mode(`${path}.created`), 0o600);
    const written = readFileSync(`${path}.created`, 'utf8');
    assert.match(written, /^An Auditor SQLite database lives beside this file: auditor\.db \(written [^)]+\)\.\n\nWhile this file is here and auditor\.db is not, the service refuses to start/);
    await openSqliteEventStore(path).close();
    assert.equal(readFileSync(`${path}.created`, 'utf8'), written, 'an existing marker is left as it is');
  });

  it('says which existing database files are open to others, and leaves their modes as they are', async () => {
    const path = join(dir, 'auditor.db');
    await openSqliteEventStore(path).close();
    chmodSync(path, 0o644);
    const { log, lines } = keptLines();
    const store = openSqliteEventStore(path, { log });
    try {
      assert.deepEqual(lines.map(({ level, msg, files }) => ({ level, msg, files })), [{
        level: 'error',
        msg: 'database files are open to others than their owner: chmod 600 them unless that is meant',
        files: [`${path} (0644)`, `${path}-wal (0644)`, `${path}-shm (0644)`],
      }]);
      assert.equal(mode(path), 0o644);
    } finally {
      await store.close();
    }
  });

  it('refuses every write once its database file is replaced by another, rolling back the batch that found it', async () => {
    const path = join(dir, 'auditor.db');
    const { log, lines } = keptLines();
    let copied!: () => void;
    const rescued = new Promise<void>((resolve) => (copied = resolve));
    const store = openSqliteEventStore(path, {
      log: { info: log.info, error: (fields) => (log.error(fields), String(fields.msg).startsWith('copied') && copied()) },
    });
    try {
      const first = await store.append({ userId: 'u', eventType: 'before', dataJson: '{}' });
      // Another file put at the path while the service runs (a restored backup, say).
      copyFileSync(path, join(dir, 'other.db'));
      renameSync(join(dir, 'other.db'), path);

      const refused = { message: /^the database file is lost \(.*auditor\.db was replaced by another file\); nothing more can be recorded$/ };
      await assert.rejects(store.append({ userId: 'u', eventType: 'after', dataJson: '{}' }), refused);
      await assert.rejects(store.append({ userId: 'u', eventType: 'later', dataJson: '{}' }), refused);
      assert.equal(await store.isReady(), false);
      await rescued;
      assert.equal(lines.filter((line) => String(line.msg).startsWith('DATABASE FILE LOST')).length, 1);

      // The copy holds what the replaced file held: the first event, not the batch rolled back.
      const copy = readdirSync(dir).find((name) => name.startsWith('auditor.db.rescued-'))!;
      const db = new Database(join(dir, copy), { readonly: true });
      try {
        assert.deepEqual(db.prepare('SELECT id, event_type FROM events').all(), [{ id: first.id, event_type: 'before' }]);
      } finally {
        db.close();
      }
    } finally {
      await store.close();
    }
  });
});
