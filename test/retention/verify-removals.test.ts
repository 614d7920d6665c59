/**
 * `npm run verify` on a log with removed payloads: each removal made by retention or an erasure is
 * accepted under its record, and any other clearing or change is tampering. On the backend under
 * test (the PostgreSQL run of the suite covers the other).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { describeFinding } from '../../src/integrity/tree-finding.js';
import { verifyTree } from '../../src/integrity/verify-tree.js';
import { eraseSubject } from '../../src/retention/erase-subject.js';
import { createRemovalLock } from '../../src/retention/removal-lock.js';
import { startRetentionJob } from '../../src/retention/retention-job.js';
import { parseRetentionPolicy } from '../../src/retention/retention-policy.js';
import type { EventStore } from '../../src/store/event-store.js';
import { openTreeRows } from '../../src/store/tree-rows.js';
import { parseVerifierKey } from '../../verifier/signed-note.js';
import { createTestDatabase, TEST_BACKEND, TEST_CHAIN_SECRET, testSigningKeyFile, type TestDatabase } from '../helpers/test-database.js';

const VERIFY = fileURLToPath(new URL('../../src/cli/verify.js', import.meta.url));
const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

type Run = { code: number; stdout: string };
/** An event's data as its stored text (PostgreSQL's driver would parse json). */
const DATA_TEXT = TEST_BACKEND === 'postgres' ? 'e.data::text' : 'e.data';

describe(`npm run verify on a log with removed payloads (${TEST_BACKEND})`, () => {
  let database: TestDatabase;
  let key: string;
  const ids: Record<string, string> = {};
  let retentionRecord = '';

  const verify = (): Promise<Run> => {
    const { location } = database;
    const env: Record<string, string> = location.kind === 'sqlite'
      ? { AUDITOR_DB: location.path }
      : { AUDITOR_DB: location.url, AUDITOR_CHAIN_SECRET: TEST_CHAIN_SECRET, AUDITOR_SIGNING_KEY_FILE: testSigningKeyFile() };
    return new Promise((resolve) => {
      execFile(process.execPath, [VERIFY, '--key', key], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', ...env } },
        (error, stdout) => resolve({ code: error === null ? 0 : Number(error.code), stdout }));
    });
  };
  const tampered = (run: Run) => run.stdout.split('\n').filter((line) => line.startsWith('TAMPERED'));
  /** What puts the append-only triggers out of the way, as an insider with the database would. */
  const unguard = TEST_BACKEND === 'sqlite'
    ? 'DROP TRIGGER IF EXISTS events_are_never_updated; DROP TRIGGER IF EXISTS merkle_leaves_are_never_updated;'
    : 'ALTER TABLE events DISABLE TRIGGER ALL; ALTER TABLE merkle_leaves DISABLE TRIGGER ALL;';
  const seqOf = (id: string) => `(SELECT seq FROM events WHERE id = '${id}')`;

  before(async () => {
    database = await createTestDatabase();
    if (TEST_BACKEND === 'postgres') await database.execute('CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA pg_catalog');
    let now = START;
    const options = { checkpointIntervalMs: 3_600_000, clock: () => now };
    const store: EventStore = await database.openStore(options);
    const append = async (name: string, userId: string, eventType: string, data: unknown) => {
      ids[name] = (await store.append({ userId, eventType, dataJson: JSON.stringify(data), keyName: 'svc' })).id;
    };
    await append('expired', 'u1', 'login', { ip: '192.0.2.1' });
    await append('erasedUser', 'ada', 'login', { ip: '192.0.2.2' });
    await append('erasedData', 'clerk', 'case.viewed', { patient: 'carol' });
    await append('expiredThenErased', 'ada', 'payment', { amount: 5 });
    // A checkpoint of the log before any removal: proofs signed then must stay valid.
    await store.inclusionProof(ids.expiredThenErased!);
    now = START + 5 * DAY;
    await append('kept', 'u1', 'login', { ip: '192.0.2.3' });
    await append('keptToo', 'u2', 'note', { n: 1 });
    // At day 6, logins and payments of before day 3 expire; notes are named by no policy, and kept.
    now = START + 6 * DAY;
    const lock = createRemovalLock();
    const job = startRetentionJob({ store, policy: parseRetentionPolicy('login=3d,payment=3d')!.policy!, lock, intervalMs: 3_600_000, clock: () => now });
    const run = await job.runNow();
    await job.stop();
    retentionRecord = run.record!;
    assert.equal(run.removed, 3, 'expired, erasedUser and expiredThenErased expire (logins and the payment of day 0)');
    await eraseSubject(store, lock, { subject: { kind: 'user', userId: 'ada' }, reason: null, requestedBy: 'ops' });
    await eraseSubject(store, lock, { subject: { kind: 'data', field: 'patient', path: ['patient'], value: 'carol' }, reason: null, requestedBy: 'ops' });
    await append('last', 'u3', 'note', { n: 2 });
    await store.inclusionProof(ids.last!); // and a checkpoint after them
    key = store.verifierKey;
    await store.close();
  });
  after(() => database.drop());

  it('accepts every payload removed by retention or an erasure, under its record, and says how many', async () => {
    const run = await verify();
    assert.deepEqual(tampered(run), []);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /^Removed payloads: 1 expired by retention and 3 erased, each held to the auditor\.retention or auditor\.erasure record that allowed it/m);
    assert.match(run.stdout, /^The log is intact\.$/m);
  });

  it('finds each record by its id wherever it is: in chunks of 2 seqs, every record is in another chunk than what it removed', async () => {
    const rows = await openTreeRows(database.location);
    try {
      for (const threads of [1, 3]) {
        const verdict = await verifyTree(database.location, rows, { key: parseVerifierKey(key), chunkLevel: 1, threads });
        assert.deepEqual(verdict.findings.map(describeFinding), []);
        assert.deepEqual([verdict.expired, verdict.erased], [1, 3]);
      }
      // And a made-up record is still told from a real one there.
      await database.execute(`${unguard} UPDATE events SET removed_by = '00000000-0000-7000-8000-000000000000' WHERE id = '${ids.expired}'`);
      try {
        const verdict = await verifyTree(database.location, rows, { key: parseVerifierKey(key), chunkLevel: 1, threads: 2 });
        assert.deepEqual(verdict.findings.map((finding) => finding.kind === 'event' ? [finding.id, /no auditor\.retention or auditor\.erasure event of the log has that id/.test(finding.detail)] : finding.kind), [[ids.expired, true]]);
      } finally {
        await database.execute(`${unguard} UPDATE events SET removed_by = '${retentionRecord}' WHERE id = '${ids.expired}'`);
      }
    } finally {
      await rows.close();
    }
  });

  /** What an insider would write to clear `id`'s payload as a removal does: its real commitment kept, under `record`. */
  const clearAsRemoval = async (id: string, record: string): Promise<string> => {
    const [row] = await database.select(`SELECT ${DATA_TEXT} AS data, l.salt FROM events e JOIN merkle_leaves l ON l.seq = e.seq WHERE e.id = '${id}'`);
    const commitment = createHash('sha256').update(row!.salt as Buffer).update(String(row!.data)).digest('hex');
    const literal = TEST_BACKEND === 'sqlite' ? `x'${commitment}'` : `'\\x${commitment}'::bytea`;
    return `UPDATE events SET data = 'null', removed_by = '${record}', removal = 'retention', removed_ms = 1 WHERE id = '${id}';` +
      `UPDATE merkle_leaves SET salt = NULL, data_sha256 = ${literal} WHERE seq = ${seqOf(id)}`;
  };
  const cases: Array<[string, () => Promise<string> | string, RegExp]> = [
    ['a payload cleared by hand, with no removal recorded', () => `UPDATE events SET data = 'null' WHERE id = '${ids.kept}'`, /event .* does not match its leaf in the tree/],
    ['a payload cleared under a made-up record', () => clearAsRemoval(ids.keptToo!, '00000000-0000-7000-8000-000000000000'),
      /had its payload removed under 00000000-0000-7000-8000-000000000000, but no auditor\.retention or auditor\.erasure event of the log has that id/],
    ['an event the retention record kept, cleared under it', () => clearAsRemoval(ids.kept!, retentionRecord), /had its payload removed under .*, but its policy kept login events recorded at/],
    ['the time of an expired event changed', () => `UPDATE events SET ts = ts + 1 WHERE id = '${ids.expired}'`, /event .* does not match its leaf in the tree/],
    ['the type of an expired event changed', () => `UPDATE events SET event_type = 'logout' WHERE id = '${ids.expired}'`, /event .* does not match its leaf in the tree|its policy kept logout events/],
    ['the commitment of an expired event dropped', () => `UPDATE merkle_leaves SET data_sha256 = NULL WHERE seq = ${seqOf(ids.expired!)}`, /is marked as removed without the commitment of its data/],
    ['a payload cleared under an ordinary event named as its record', async () => clearAsRemoval(ids.keptToo!, ids.kept!),
      /had its payload removed under .*, but no auditor\.retention or auditor\.erasure event of the log has that id/],
    ['a payload cleared under a record written before it', () => clearAsRemoval(ids.last!, retentionRecord), /had its payload removed under .*, but that record \(seq \d+\) was written before an event it would have removed/],
    ['a record\'s own payload cleared', async () => clearAsRemoval(retentionRecord, retentionRecord), /is a system event marked as removed/],
    ['the salt of an expired event put back', () => `UPDATE merkle_leaves SET salt = x'00112233445566778899aabbccddeeff' WHERE seq = ${seqOf(ids.expired!)}`.replace("x'", TEST_BACKEND === 'sqlite' ? "x'" : "'\\x").replace("eeff'", TEST_BACKEND === 'sqlite' ? "eeff'" : "eeff'::bytea"),
      /is marked as removed but its leaf still holds the salt of its data/],
    ['an erased user\'s name put back on an event', () => `UPDATE events SET user_id = 'ada' WHERE id = '${ids.erasedUser}'`,
      /had its payload removed under .*, but one of them bears the user_id "ada", not the pseudonym the erasure gave its subject/],
  ];
  for (const [what, sql, finding] of cases) {
    it(`reports as tampering ${what}`, async () => {
      // Each case on a copy of its own would be cleaner; one log, put back after each, is faster.
      const before = await database.select(`SELECT e.seq, e.ts, e.user_id, e.event_type, ${DATA_TEXT} AS data, e.removed_by, e.removal, e.removed_ms, l.salt, l.data_sha256 FROM events e JOIN merkle_leaves l ON l.seq = e.seq ORDER BY e.seq`);
      await database.execute(`${unguard} ${await sql()}`);
      try {
        const run = await verify();
        assert.equal(run.code, 1, run.stdout);
        assert.ok(tampered(run).some((line) => finding.test(line)), run.stdout);
      } finally {
        await restore(before);
      }
    });
  }

  async function restore(rows: Array<Record<string, unknown>>): Promise<void> {
    const value = (v: unknown): string => v === null || v === undefined ? 'NULL'
      : Buffer.isBuffer(v) ? (TEST_BACKEND === 'sqlite' ? `x'${v.toString('hex')}'` : `'\\x${v.toString('hex')}'::bytea`)
      : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
    const statements = rows.map((row) =>
      `UPDATE events SET ts = ${value(row.ts)}, user_id = ${value(row.user_id)}, event_type = ${value(row.event_type)}, data = ${value(row.data)}${TEST_BACKEND === 'postgres' ? '::json' : ''}, removed_by = ${value(row.removed_by)}, removal = ${value(row.removal)}, removed_ms = ${value(row.removed_ms)} WHERE seq = ${value(row.seq)};` +
      `UPDATE merkle_leaves SET salt = ${value(row.salt)}, data_sha256 = ${value(row.data_sha256)} WHERE seq = ${value(row.seq)};`).join('');
    await database.execute(`${unguard} ${statements}`);
    const run = await verify();
    assert.equal(run.code, 0, `the log put back verifies again: ${run.stdout}`);
  }
});
