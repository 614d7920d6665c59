import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { NewEvent } from '../../src/events/event.js';
import type { SubmissionOutcome } from '../../src/store/storage-backend.js';
import { readFileIdentity } from '../../src/store/sqlite/database-files.js';
import { openDatabase } from '../../src/store/sqlite/open-database.js';
import { startSqliteWriter, type SqliteWriter } from '../../src/store/sqlite/writer-client.js';

const SECRET = Buffer.from('sqlite-writer-test-secret');
const NOW = Date.parse('2030-01-01T00:00:00Z');
const event = (userId: string): NewEvent => ({ userId, eventType: 't', dataJson: '{}' });
const stored = (...seqs: number[]): Array<[number, boolean]> => seqs.map((seq) => [seq, false]);
/** Each outcome's stored seqs and replay flags: what the planner placed, without the ids and times. */
const placed = (outcomes: readonly SubmissionOutcome[]): unknown[] =>
  outcomes.map((outcome) => (outcome.kind === 'stored' ? outcome.placements.map(([, , seq, replayed]) => [seq, replayed]) : outcome.kind));

/**
 * A writer thread on a new database, started while a second connection holds the write lock: the
 * thread cannot finish opening (its schema check takes the lock) and so cannot take any message
 * until `release`. Every commit sent before then is waiting for it together.
 */
function heldWriter(t: TestContext, setUp = ''): { writer: SqliteWriter; transactions: number[]; release(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'auditor-writer-'));
  const path = join(dir, 'auditor.db');
  const db = openDatabase(path);
  if (setUp !== '') db.exec(setUp);
  db.exec('BEGIN IMMEDIATE');
  const transactions: number[] = [];
  const writer = startSqliteWriter(path, SECRET, { identity: readFileIdentity(path), onLost: () => {}, onTransactionCommitted: (events) => transactions.push(events) });
  t.after(async () => {
    await writer.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { writer, transactions, release: () => db.exec('COMMIT') };
}

describe('the SQLite writer thread', () => {
  it('commits every commit batch waiting for it in one transaction, and tells the observer once, with all their events', async (t) => {
    const { writer, transactions, release } = heldWriter(t);
    const first = writer.commit([[event('a')], [event('b'), event('c')]], NOW);
    const second = writer.commit([[event('d')]], NOW);
    release();
    assert.deepEqual((await Promise.all([first, second])).map(placed), [[stored(1), stored(2, 3)], [stored(4)]]);
    assert.deepEqual(transactions, [4]);
    assert.deepEqual(placed(await writer.commit([[event('e')]], NOW)), [stored(5)]);
    assert.deepEqual(transactions, [4, 1]);
  });

  it('fails every commit batch of a merged transaction that fails, and tells the observer nothing', async (t) => {
    // A failure that is not a refused row (SQLITE_MISMATCH, from the trigger's own insert) fails the transaction.
    const { writer, transactions, release } = heldWriter(t, `
      CREATE TABLE mismatch (n INTEGER PRIMARY KEY);
      CREATE TRIGGER fail_the_transaction BEFORE INSERT ON events WHEN NEW.user_id = 'fails-all'
        BEGIN INSERT INTO mismatch VALUES ('not a number'); END`);
    const pending = [writer.commit([[event('a')]], NOW), writer.commit([[event('fails-all')]], NOW)];
    release();
    for (const result of await Promise.allSettled(pending)) {
      assert.equal(result.status, 'rejected');
      assert.deepEqual([(result.reason as Error).message, (result.reason as { code?: unknown }).code], ['datatype mismatch', 'SQLITE_MISMATCH']);
    }
    assert.deepEqual(transactions, []);
    assert.deepEqual(placed(await writer.commit([[event('b')]], NOW)), [stored(1)], 'nothing of them was kept');
  });
});
