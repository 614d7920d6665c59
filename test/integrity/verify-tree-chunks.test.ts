import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from '../../src/store/sqlite/sqlite-driver.js';
import fc from 'fast-check';
import { leafHash, nodeHash } from '../../verifier/merkle.js';
import { parseVerifierKey } from '../../verifier/signed-note.js';
import { chainHash, chainHashOverLeaf } from '../../src/integrity/chain.js';
import { eventLeaf } from '../../src/integrity/event-leaf.js';
import { createScratchHasher } from '../../src/integrity/scratch-hasher.js';
import { describeFinding } from '../../src/integrity/tree-finding.js';
import { verifyTree, type TreeVerdict } from '../../src/integrity/verify-tree.js';
import { openTreeRows } from '../../src/store/tree-rows.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/** 4 seqs a chunk: a log of 21 events spans six chunks, the last one partial, on two threads. */
const SMALL = { chunkLevel: 2, threads: 2 };

describe('verifyTree over many chunks: the main thread folds the chunks\' roots', () => {
  let database: TestDatabase;
  let key: string;

  before(async () => {
    database = await createTestDatabase('sqlite');
    const store = await database.openStore({ checkpointIntervalMs: 3_600_000 });
    let last = '';
    for (let i = 0; i < 21; i++) last = (await store.append({ userId: 'u', eventType: 't', dataJson: `{"i":${i}}`, keyName: 'k' })).id;
    await store.inclusionProof(last); // the tree of 21 is signed
    key = store.verifierKey;
    await store.close();
    await database.execute('DROP TRIGGER merkle_leaves_are_never_updated; DROP TRIGGER events_are_never_updated; DROP TRIGGER merkle_leaves_are_never_deleted; DROP TRIGGER events_are_never_deleted;');
  });
  after(() => database.drop());

  async function check(options: Partial<typeof SMALL> = SMALL): Promise<{ verdict: TreeVerdict; lines: string[] }> {
    const rows = await openTreeRows(database.location);
    try {
      const verdict = await verifyTree(database.location, rows, { key: parseVerifierKey(key), ...options });
      return { verdict, lines: verdict.findings.map((finding) => `${finding.reason}: ${describeFinding(finding)}`) };
    } finally {
      await rows.close();
    }
  }

  it('finds the log intact whatever the chunks, and the latest checkpoint the root of the rebuilt tree', async () => {
    for (const options of [SMALL, { chunkLevel: 0, threads: 3 }, { chunkLevel: 16, threads: 1 }]) {
      const { verdict, lines } = await check(options);
      assert.deepEqual(lines, [], JSON.stringify(options));
      assert.equal(verdict.size, 21);
      assert.equal(verdict.events, 21);
      assert.deepEqual(verdict.latest, { size: 21, holds: true });
    }
  });

  it('names a stored node above the chunks that was changed (compared by the main thread)', async () => {
    // Leaf row 16 holds the hashes of leaves 14..15, 12..15, 8..15 and 0..15: the last two lie
    // above a chunk of 4, so only the fold of the chunks' roots can check them.
    const db = new Database((database.location as { path: string }).path);
    const original = db.prepare('SELECT nodes FROM merkle_leaves WHERE seq = 16').pluck().get() as Buffer;
    assert.equal(original.length, 4 * 32);
    db.prepare('UPDATE merkle_leaves SET nodes = ? WHERE seq = 16').run(Buffer.concat([original.subarray(0, 96), Buffer.alloc(32)]));
    try {
      const { verdict, lines } = await check();
      assert.deepEqual(lines, ['rewritten: the stored hash of leaves 0 to 15 is not the hash of the two below it: the tree\'s nodes were changed']);
      assert.deepEqual(verdict.latest, { size: 21, holds: true }); // the events still make the signed tree
    } finally {
      db.prepare('UPDATE merkle_leaves SET nodes = ? WHERE seq = 16').run(original);
      db.close();
    }
  });

  it('jumps over a run of empty chunks up to a forged event far beyond the log, and names it', async () => {
    await database.execute(`INSERT INTO events (seq, id, ts, user_id, event_type, data, key_name) VALUES (1000000000, '01900000-0000-7000-8000-000000000000', 1, 'u', 't', '{}', 'k')`);
    try {
      const { verdict, lines } = await check();
      assert.equal(verdict.size, 1_000_000_000);
      assert.deepEqual(lines, [
        'deleted: seqs 22 to 999999999 (999999978) have neither an event nor a leaf in the tree: their events were removed with their leaves',
        'inserted: the event at seq 1000000000 has no leaf in the tree: it was added behind the service\'s back, or its leaf was removed',
        'edited: event 01900000-0000-7000-8000-000000000000 (seq 1000000000) has no chain hash, yet the chain began before it: its chain hash was removed',
      ]);
      assert.deepEqual(verdict.latest, { size: 21, holds: true });
    } finally {
      await database.execute('DELETE FROM events WHERE seq = 1000000000');
    }
  });
});

describe('the scratch hasher', () => {
  const event = fc.record({
    id: fc.uuid(),
    timestampMs: fc.integer({ min: 0, max: 2 ** 48 }),
    userId: fc.string({ unit: 'grapheme', maxLength: 40 }),
    eventType: fc.string({ maxLength: 20 }),
    keyName: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
    dataJson: fc.string({ unit: 'grapheme', maxLength: 6000 }),
  });

  it('computes the same leaf, node and chain hashes as the reference functions', () => {
    fc.assert(fc.property(event, fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 0, maxLength: 100 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (fields, salt, secret, other) => {
      const hasher = createScratchHasher(Buffer.from(secret));
      const leaf = leafHash(eventLeaf(fields, salt));
      assert.deepEqual(hasher.leafHash(fields, salt), leaf);
      assert.deepEqual(hasher.nodeHash(leaf, other), nodeHash(leaf, other));
      assert.deepEqual(hasher.chainHash(other, fields), chainHash(Buffer.from(secret), Buffer.from(other), fields));
      assert.deepEqual(hasher.chainHashOverLeaf(other, leaf), chainHashOverLeaf(Buffer.from(secret), other, leaf));
    }));
  });
});
