import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { StoredEvent } from '../../src/events/event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { openEventReader } from '../../src/store/open-event-store.js';
import type { StoredCheckpoint } from '../../src/store/storage-backend.js';
import { leafHash, verifyInclusion } from '../../verifier/merkle.js';
import { eraseSubject } from '../../src/retention/erase-subject.js';
import { createRemovalLock } from '../../src/retention/removal-lock.js';
import { startRetentionJob } from '../../src/retention/retention-job.js';
import { parseRetentionPolicy } from '../../src/retention/retention-policy.js';
import { describeFinding } from '../../src/integrity/tree-finding.js';
import { verifyTree } from '../../src/integrity/verify-tree.js';
import { openTreeRows } from '../../src/store/tree-rows.js';
import { parseVerifierKey } from '../../verifier/signed-note.js';
import { verifyChain } from '../../src/integrity/verify-chain.js';
import { relinkAsBeforeLeaves } from '../helpers/links-before-leaves.js';
import { createTestDatabase, TEST_CHAIN_SECRET, type TestDatabase } from '../helpers/test-database.js';

const MIGRATE_CLI = fileURLToPath(new URL('../../src/cli/migrate-to-postgres.js', import.meta.url));

function migrate(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MIGRATE_CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

async function everything(store: EventStore, userId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const chunk of store.query({ userId, eventTypes: [], dataFilters: [], order: 'asc' })) events.push(...chunk);
  return events;
}

describe('npm run migrate-to-postgres', () => {
  /** The SQLite log's latest checkpoint, read as the service reads it. */
  const sqliteCheckpoint = async (): Promise<StoredCheckpoint> => {
    const reader = await openEventReader(sqlite.location);
    try {
      return (await reader.checkpoint())!;
    } finally {
      await reader.close();
    }
  };
  let sqlite: TestDatabase;
  let postgres: TestDatabase;
  let from: string;
  let to: string;
  let original: StoredEvent[];

  before(async () => {
    sqlite = await createTestDatabase('sqlite');
    postgres = await createTestDatabase('postgres');
    if (sqlite.location.kind !== 'sqlite' || postgres.location.kind !== 'postgres') throw new Error('wrong test databases');
    [from, to] = [sqlite.location.path, postgres.location.url];
    const store = await sqlite.openStore({ chainSecret: TEST_CHAIN_SECRET });
    await store.appendAll(Array.from({ length: 12_345 }, (_, i) => ({ userId: `u${i % 7}`, eventType: 't', dataJson: `{"z":${i},"a":1.50}`, keyName: 'svc' })));
    await store.append({ userId: 'u0', eventType: 'retried', dataJson: '{}', keyName: 'svc', idempotencyKey: 'once' });
    original = await everything(store, 'u0');
    await store.close();
  });
  after(async () => {
    await sqlite.drop();
    await postgres.drop();
  });

  it('copies every event with its id, timestamp, data and chain, which then verifies and goes on', async () => {
    const result = await migrate(['--from', from, '--to', to], { AUDITOR_CHAIN_SECRET: TEST_CHAIN_SECRET });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Copied 12346 events \(12346 in .*\), their Merkle tree, \d+ signed checkpoints and 1 idempotency keys/);
    assert.match(result.stdout, /The chain verifies in PostgreSQL: 12346 chained events/);
    const again = await migrate(['--from', from, '--to', to], { AUDITOR_CHAIN_SECRET: TEST_CHAIN_SECRET });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Resuming after event number 12346[^]*Copied 0 events/, 'run twice, copied once');

    const store = await postgres.openStore({ signingKeyFile: `${from}.signing.key` });
    try {
      assert.deepEqual(await everything(store, 'u0'), original);
      // The tree and its checkpoints came along: the same signed notes, and proofs against them.
      const signed = await sqliteCheckpoint();
      assert.equal(signed.size, 12_346);
      assert.deepEqual(await store.signedCheckpoint(signed.size), signed);
      const proof = (await store.inclusionProof(original[3]!.id, signed.size))!;
      verifyInclusion(proof.leafIndex, signed.size, leafHash(proof.leaf!), proof.path, signed.rootHash);
      // Writing goes on from the copied head: the same chain, the same idempotency keys.
      const retried = await store.append({ userId: 'u0', eventType: 'retried', dataJson: '{}', keyName: 'svc', idempotencyKey: 'once' });
      assert.equal(retried.replayed, true);
      const next = await store.append({ userId: 'u0', eventType: 'after', dataJson: '{}' });
      assert.equal(next.seq, 12_347);
      assert.ok(next.timestampMs >= original.at(-1)!.timestampMs);
    } finally {
      await store.close();
    }
  });

  it('refuses to sign on under another key than the one that signed the copied checkpoints', async () => {
    await assert.rejects(postgres.openStore(), /the log's latest checkpoint was not signed by the key in .*: give the service the key that signed its checkpoints/);
  });

  it('refuses to copy into a database that holds other events, and copies nothing', async () => {
    const other = await createTestDatabase('sqlite');
    try {
      const store = await other.openStore({ chainSecret: TEST_CHAIN_SECRET });
      await store.append({ userId: 'x', eventType: 't', dataJson: '{}' });
      await store.close();
      const before = await postgres.countEvents();
      const result = await migrate(['--from', other.location.kind === 'sqlite' ? other.location.path : '', '--to', to]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /already holds events that are not a copy of/);
      assert.equal(await postgres.countEvents(), before);
    } finally {
      await other.drop();
    }
  });

  it('says what it needs when it is not told where to copy', async () => {
    const result = await migrate(['--from', from]);
    assert.equal(result.code, 2, 'a bad command line');
    assert.match(result.stderr, /--to postgres:\/\//);
  });

  it('carries removed payloads as they were recorded: the copy verifies, and shows them removed', async () => {
    const withRemovals = await createTestDatabase('sqlite');
    const target = await createTestDatabase('postgres');
    try {
      let now = Date.parse('2026-01-01T00:00:00Z');
      const store = await withRemovals.openStore({ chainSecret: TEST_CHAIN_SECRET, clock: () => now });
      const gone = await store.append({ userId: 'gone', eventType: 't', dataJson: '{"a":1}', keyName: 'svc' });
      const expired = await store.append({ userId: 'kept', eventType: 'login', dataJson: '{"ip":"192.0.2.1"}', keyName: 'svc' });
      const kept = await store.append({ userId: 'kept', eventType: 't', dataJson: '{"b":2}', keyName: 'svc' });
      const lock = createRemovalLock();
      await eraseSubject(store, lock, { subject: { kind: 'user', userId: 'gone' }, reason: null, requestedBy: 'ops' });
      now += 2 * 86_400_000;
      const job = startRetentionJob({ store, policy: parseRetentionPolicy('login=1d')!.policy!, lock, intervalMs: 3_600_000, clock: () => now });
      assert.equal((await job.runNow()).removed, 1);
      await job.stop();
      const before = await Promise.all([gone, expired, kept].map(({ id }) => store.get(id)));
      const key = store.verifierKey;
      await store.close();

      const result = await migrate(['--from', (withRemovals.location as { path: string }).path, '--to', (target.location as { url: string }).url], { AUDITOR_CHAIN_SECRET: TEST_CHAIN_SECRET });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Copied 5 events/);
      assert.match(result.stdout, /The chain verifies in PostgreSQL: 5 chained events/);

      const copy = await target.openStore({ signingKeyFile: `${(withRemovals.location as { path: string }).path}.signing.key` });
      try {
        assert.deepEqual(await Promise.all([gone, expired, kept].map(({ id }) => copy.get(id))), before, 'the same events, removals and all');
      } finally {
        await copy.close();
      }
      const rows = await openTreeRows(target.location);
      try {
        const verdict = await verifyTree(target.location, rows, { key: parseVerifierKey(key), secret: Buffer.from(TEST_CHAIN_SECRET) });
        assert.deepEqual(verdict.findings.map(describeFinding), []);
        assert.deepEqual([verdict.expired, verdict.erased, verdict.chained], [1, 1, 5]);
      } finally {
        await rows.close();
      }
    } finally {
      await withRemovals.drop();
      await target.drop();
    }
  });

  it('carries where chain links over leaves begin, so that a log upgraded to them verifies in PostgreSQL', async () => {
    const upgraded = await createTestDatabase('sqlite');
    const target = await createTestDatabase('postgres');
    try {
      // Its own chain.secret beside it, which the copy finds there.
      let store = await upgraded.openStore();
      for (const n of [1, 2, 3]) await store.append({ userId: 'u', eventType: 't', dataJson: `{"n":${n}}`, keyName: 'svc' });
      await store.close();
      await relinkAsBeforeLeaves(upgraded);
      store = await upgraded.openStore();
      for (const n of [4, 5]) await store.append({ userId: 'u', eventType: 't', dataJson: `{"n":${n}}`, keyName: 'svc' });
      await store.close();

      const result = await migrate(['--from', (upgraded.location as { path: string }).path, '--to', (target.location as { url: string }).url]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /The chain verifies in PostgreSQL: 5 chained events/);
      assert.deepEqual(await target.select('SELECT from_seq::int AS from_seq FROM chain_over_leaves'), [{ from_seq: 4 }]);
      const walk = await verifyChain(await target.chainRows(), upgraded.chainSecret());
      assert.deepEqual([walk.ok, walk.chained], [true, 5]);
    } finally {
      await upgraded.drop();
      await target.drop();
    }
  });
});
