/**
 * A log upgraded to links over leaves: the events written before keep their links over canonical
 * forms, those after are linked over their leaves, and both `npm run verify`'s walk and the chain
 * walk check each by its own rule, removed payloads included. On the backend under test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeFinding } from '../../src/integrity/tree-finding.js';
import { verifyChain } from '../../src/integrity/verify-chain.js';
import { verifyTree, type TreeVerdict } from '../../src/integrity/verify-tree.js';
import { eraseSubject } from '../../src/retention/erase-subject.js';
import { createRemovalLock } from '../../src/retention/removal-lock.js';
import { startRetentionJob } from '../../src/retention/retention-job.js';
import { parseRetentionPolicy } from '../../src/retention/retention-policy.js';
import { openTreeRows } from '../../src/store/tree-rows.js';
import { parseVerifierKey } from '../../verifier/signed-note.js';
import { asInsider, bytesLiteral, relinkAsBeforeLeaves } from '../helpers/links-before-leaves.js';
import { createTestDatabase, TEST_BACKEND, type TestDatabase } from '../helpers/test-database.js';

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

describe(`a log upgraded to chain links over leaves (${TEST_BACKEND})`, () => {
  let database: TestDatabase;
  let key: string;

  const unguarded = (table: string, sql: string) => asInsider(database, table, sql);
  const bytes = (value: Buffer) => bytesLiteral(database, value);
  const verdict = async (): Promise<TreeVerdict> => {
    const rows = await openTreeRows(database.location);
    try {
      return await verifyTree(database.location, rows, { key: parseVerifierKey(key), secret: database.chainSecret(), chunkLevel: 1, threads: 2 });
    } finally {
      await rows.close();
    }
  };

  before(async () => {
    database = await createTestDatabase();
    let now = START;
    const options = { checkpointIntervalMs: 3_600_000, clock: () => now };
    // Three events as the version before wrote them: the same rows and leaves, each linked over
    // its canonical form; and the schema without the row that says where links over leaves begin.
    let store = await database.openStore(options);
    for (const n of [1, 2, 3]) await store.append({ userId: n === 2 ? 'ada' : 'u1', eventType: 'login', dataJson: JSON.stringify({ n }), keyName: 'svc' });
    await store.close();
    await relinkAsBeforeLeaves(database);

    // The upgrade, three events after it, then retention and an erasure across both.
    store = await database.openStore(options);
    for (const n of [4, 5, 6]) await store.append({ userId: n === 5 ? 'ada' : 'u1', eventType: 'login', dataJson: JSON.stringify({ n }), keyName: 'svc' });
    now = START + 2 * DAY;
    await store.append({ userId: 'u1', eventType: 'note', dataJson: '{"kept":true}', keyName: 'svc' });
    const lock = createRemovalLock();
    const job = startRetentionJob({ store, policy: parseRetentionPolicy('login=1d')!.policy!, lock, intervalMs: 3_600_000, clock: () => now });
    assert.equal((await job.runNow()).removed, 6);
    await job.stop();
    await eraseSubject(store, lock, { subject: { kind: 'user', userId: 'ada' }, reason: null, requestedBy: 'ops' });
    await store.append({ userId: 'u2', eventType: 'note', dataJson: '{"last":true}', keyName: 'svc' });
    await store.inclusionProof((await database.chainRows()).at(-1)!.id); // a checkpoint over all of it
    key = store.verifierKey;
    await store.close();
  });
  after(() => database.drop());

  it('links over leaves from the first event after the upgrade, and keeps the older links', async () => {
    assert.deepEqual(await database.select('SELECT CAST(from_seq AS INTEGER) AS from_seq FROM chain_over_leaves'), [{ from_seq: 4 }]);
    const result = await verdict();
    assert.deepEqual(result.findings.map(describeFinding), []);
    assert.deepEqual([result.expired, result.erased], [4, 2], 'seqs 1 and 3 expired before and 4 and 6 after the upgrade; 2 and 5 erased');
    assert.equal(result.chained, result.events, 'every event checked link by link');
    assert.equal(result.linksTakenAsStored, 3, 'only the removed payloads from before the upgrade');
    const walk = await verifyChain(await database.chainRows(), database.chainSecret());
    assert.deepEqual([walk.ok, walk.chained], [true, result.events], JSON.stringify(walk.broken));
  });

  it('holds the link of a payload removed after the upgrade to its leaf: an expired event\'s user or an erased one\'s leaf changed breaks it', async () => {
    for (const [table, sql, seq] of [
      ['events', "UPDATE events SET user_id = 'mallory' WHERE seq = 4", 4],
      ['merkle_leaves', `UPDATE merkle_leaves SET hash = ${bytes(Buffer.alloc(32, 7))} WHERE seq = 5`, 5],
    ] as const) {
      const [saved] = await database.select(`SELECT e.user_id, l.hash FROM events e JOIN merkle_leaves l ON l.seq = e.seq WHERE e.seq = ${seq}`);
      await unguarded(table, sql);
      try {
        const walk = await verifyChain(await database.chainRows(), database.chainSecret());
        assert.equal(walk.broken?.seq, seq, sql);
        const findings = (await verdict()).findings.map(describeFinding);
        assert.ok(findings.some((line) => line.includes('chain') && line.includes(String(seq))), `${sql}: ${findings.join('\n')}`);
      } finally {
        await unguarded(table, table === 'events'
          ? `UPDATE events SET user_id = '${String(saved!.user_id)}' WHERE seq = ${seq}`
          : `UPDATE merkle_leaves SET hash = ${bytes(saved!.hash as Buffer)} WHERE seq = ${seq}`);
      }
    }
    assert.deepEqual((await verdict()).findings.map(describeFinding), [], 'put back, the log verifies again');
  });

  it('refuses to move where links over leaves begin once the log holds events, and finds it moved by hand', async () => {
    await assert.rejects(database.execute('UPDATE chain_over_leaves SET from_seq = 1'), /can change only while the log is empty/);
    await assert.rejects(database.execute('DELETE FROM chain_over_leaves'), /holds one row/);
    await assert.rejects(database.execute('INSERT INTO chain_over_leaves (from_seq) VALUES (9)'), /holds one row/);
    // Back over events linked over canonical forms, or on past one still holding its payload (seq 7).
    for (const moved of [1, 8]) {
      await unguarded('chain_over_leaves', `UPDATE chain_over_leaves SET from_seq = ${moved}`);
      try {
        const findings = (await verdict()).findings.map(describeFinding);
        assert.ok(findings.some((line) => /chain/.test(line)), `moved to ${moved}: ${findings.join('\n')}`);
      } finally {
        await unguarded('chain_over_leaves', 'UPDATE chain_over_leaves SET from_seq = 4');
      }
    }
  });
});
