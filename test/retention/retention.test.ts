import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createRemovalLock } from '../../src/retention/removal-lock.js';
import { startRetentionJob, type RetentionJob } from '../../src/retention/retention-job.js';
import { parseRetentionPolicy } from '../../src/retention/retention-policy.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { apiCalls } from '../helpers/api-calls.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

describe(`retention (${TEST_BACKEND})`, () => {
  let server: TestServer;
  let job: RetentionJob;
  let now = START;
  const clock = () => now;
  const { call, events, post, byId } = apiCalls(() => server);

  before(async () => {
    const lock = createRemovalLock();
    server = await startTestServer({ storeOptions: { clock, checkpointIntervalMs: 60_000 }, removalLock: lock });
    const { policy } = parseRetentionPolicy('default=30d,login=10d,payment=1y');
    // A small batch, so that a few events take every path of the walk.
    job = startRetentionJob({ store: server.store, policy: policy!, lock, intervalMs: 3_600_000, clock, batchSize: 2 });
  });
  after(async () => {
    await job.stop();
    await server.close();
  });

  it('removes the payload of the events past their type\'s age, keeps the rest, and puts the run on the record first', async () => {
    const old = {
      login: [await post({ user_id: 'u1', event_type: 'login', data: { ip: '192.0.2.1' } }), await post({ user_id: 'u2', event_type: 'login', data: { ip: '192.0.2.2' } }), await post({ user_id: 'u1', event_type: 'login', data: { ip: '192.0.2.3' } })],
      payment: await post({ user_id: 'u1', event_type: 'payment', data: { amount: 5 } }),
      other: await post({ user_id: 'u2', event_type: 'profile.updated', data: { field: 'city' } }),
    };
    now = START + 35 * DAY;
    const recentLogin = await post({ user_id: 'u1', event_type: 'login', data: { ip: '192.0.2.4' } });
    now = START + 40 * DAY;

    const run = await job.runNow();
    assert.equal(run.removed, 4);
    assert.equal(run.held, 0);
    for (const id of [...old.login, old.other]) {
      const event = await byId(id);
      assert.equal(event.data, null);
      assert.deepEqual(event.removed, { reason: 'retention', at: new Date(START + 40 * DAY).toISOString(), by: run.record });
    }
    assert.deepEqual((await byId(old.payment)).data, { amount: 5 });
    assert.deepEqual((await byId(recentLogin)).data, { ip: '192.0.2.4' });
    // Still found by user and type, in every answer; never by what their data held.
    assert.equal((await events('user_id=u1&order=asc')).length, 4);
    assert.deepEqual(await events('data.ip=192.0.2.1'), []);

    const [record] = await events('event_type=auditor.retention');
    assert.equal(record!.id, run.record);
    assert.deepEqual(record!.data, {
      policy: 'default=30d,login=10d,payment=1y',
      default_before: new Date(START + 10 * DAY).toISOString(),
      before_by_type: { login: new Date(START + 30 * DAY).toISOString(), payment: new Date(START + 40 * DAY - 365 * DAY).toISOString() },
      removes: ['data', 'salt'],
    });
    const rows = await server.database.select(`SELECT e.seq, e.removed_by, l.salt, l.data_sha256 FROM events e JOIN merkle_leaves l ON l.seq = e.seq WHERE e.removed_by IS NOT NULL`);
    assert.equal(rows.length, 4);
    const recordSeq = Number((await server.database.select(`SELECT seq FROM events WHERE id = '${run.record}'`))[0]!.seq);
    for (const row of rows) {
      assert.equal(row.salt, null);
      assert.equal((row.data_sha256 as Buffer).length, 32, 'the leaf keeps the data\'s commitment');
      assert.ok(Number(row.seq) < recordSeq, 'the record comes before nothing it announces');
    }

    const again = await job.runNow();
    assert.deepEqual({ removed: again.removed, record: again.record }, { removed: 0, record: null });
    assert.equal((await events('event_type=auditor.retention')).length, 1, 'a run with nothing to remove records nothing');
  });

  it('skips the events a legal hold keeps until it is released, and puts the hold and its release in the log', async () => {
    now = START + 100 * DAY;
    const held = await post({ user_id: 'litigant', event_type: 'login', data: { ip: '198.51.100.1' } });
    const typeHeld = await post({ user_id: 'u9', event_type: 'wire.sent', data: { to: 'x' } });
    const timeHeld = await post({ user_id: 'u9', event_type: 'export', data: { rows: 3 } });
    const placed = await Promise.all([
      call('POST', '/holds', { user_id: 'litigant', reason: 'Case 2026-17' }),
      call('POST', '/holds', { event_type: 'wire.sent', reason: 'Regulator inquiry' }),
      call('POST', '/holds', { since: new Date(START + 100 * DAY).toISOString(), until: new Date(START + 100 * DAY + 1).toISOString(), reason: 'Incident 9' }),
    ]);
    const holds = await Promise.all(placed.map(async (response) => {
      assert.equal(response.status, 201);
      return (await response.json()) as { id: string; scope: Record<string, string>; reason: string };
    }));
    assert.match(holds[0]!.scope.user_pseudonym!, /^erased-/, 'a hold names its user by pseudonym only');
    assert.ok(!JSON.stringify(await events('event_type=auditor.hold')).includes('litigant'));
    const listed = (await (await call('GET', '/holds')).json()) as { holds: Array<{ id: string }> };
    assert.deepEqual(listed.holds.map((hold) => hold.id).sort(), holds.map((hold) => hold.id).sort());

    now = START + 200 * DAY;
    const run = await job.runNow();
    assert.equal(run.held, 3);
    for (const id of [held, typeHeld, timeHeld]) assert.notEqual((await byId(id)).data, null);
    const refused = await call('POST', '/erasures', { user_id: 'litigant' });
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { message: string }).message, new RegExp(`legal hold ${holds[0]!.id} \\(Case 2026-17\\)`));

    for (const hold of holds) assert.equal((await call('DELETE', `/holds/${hold.id}`, { reason: 'closed' })).status, 200);
    assert.equal((await call('DELETE', `/holds/${holds[0]!.id}`)).status, 404, 'a hold is released once');
    assert.deepEqual(((await (await call('GET', '/holds')).json()) as { holds: unknown[] }).holds, []);
    assert.equal((await events('event_type=auditor.hold_released')).length, 3);

    const after = await job.runNow();
    assert.equal(after.removed, 3);
    for (const id of [held, typeHeld, timeHeld]) assert.equal((await byId(id)).data, null);
    // The holds' records are leaves of the tree like any event.
    const proof = await call('GET', `/events/${holds[0]!.id}/proof`);
    assert.equal(proof.status, 200);
  });

  it('refuses holds it cannot read, with a 400 that says why', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ user_id: 'x' }, /reason is required/],
      [{ reason: 'r' }, /exactly one of user_id, event_type, or a time range/],
      [{ user_id: 'x', event_type: 'y', reason: 'r' }, /exactly one of/],
      [{ since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z', reason: 'r' }, /since must be before until/],
      [{ since: 'yesterday', until: '2026-01-01T00:00:00Z', reason: 'r' }, /since must be an ISO 8601 instant/],
      [{ until: '2026-01-01T00:00:00Z', reason: 'r' }, /since must be an ISO 8601 instant/],
      [{ event_type: '', reason: 'r' }, /event_type must not be empty/],
      [{ user_id: 'x', reason: 'r', extra: 1 }, /Unknown property "extra"/],
    ];
    for (const [body, message] of cases) {
      const response = await call('POST', '/holds', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(((await response.json()) as { message: string }).message, message);
    }
    assert.equal((await call('DELETE', '/holds/not-a-hold')).status, 404);
  });

  it('lets the database refuse every other change to an event, removed or not, and to its leaf', async () => {
    const live = await post({ user_id: 'u5', event_type: 'login', data: { ip: '192.0.2.9' } });
    const removed = (await server.database.select(`SELECT id FROM events WHERE removal = 'retention' LIMIT 1`))[0]!.id as string;
    const system = (await events('event_type=auditor.retention'))[0]!.id;
    const attempts = [
      `UPDATE events SET data = 'null' WHERE id = '${live}'`,
      `UPDATE events SET data = 'null', removed_by = '${system}', removal = 'retention', removed_ms = 1, ts = ts + 1 WHERE id = '${live}'`,
      `UPDATE events SET data = 'null', removed_by = '${system}', removal = 'retention', removed_ms = 1, user_id = 'someone-else' WHERE id = '${live}'`,
      `UPDATE events SET data = 'null', removed_by = '${system}', removal = 'shredded', removed_ms = 1 WHERE id = '${live}'`,
      `UPDATE events SET ts = ts + 1 WHERE id = '${removed}'`,
      `UPDATE events SET event_type = 'logout' WHERE id = '${removed}'`,
      `UPDATE events SET removed_by = NULL, removal = NULL, removed_ms = NULL WHERE id = '${removed}'`,
      `UPDATE events SET data = 'null', removed_by = '${system}', removal = 'retention', removed_ms = 1 WHERE id = '${system}'`,
      `DELETE FROM events WHERE id = '${removed}'`,
      `UPDATE merkle_leaves SET salt = NULL WHERE seq = (SELECT seq FROM events WHERE id = '${live}')`,
      `UPDATE merkle_leaves SET hash = nodes WHERE seq = (SELECT seq FROM events WHERE id = '${removed}')`,
      `UPDATE merkle_leaves SET data_sha256 = NULL WHERE seq = (SELECT seq FROM events WHERE id = '${removed}')`,
      `DELETE FROM merkle_leaves WHERE seq = (SELECT seq FROM events WHERE id = '${removed}')`,
    ];
    for (const sql of attempts) {
      await assert.rejects(server.database.execute(sql), /append-only/, sql);
    }
    assert.deepEqual((await byId(live)).data, { ip: '192.0.2.9' });
  });

  it('leaves no byte of a removed payload in the database file once the space is reclaimed', { skip: TEST_BACKEND !== 'sqlite' && 'the file is SQLite\'s' }, async () => {
    now = START + 300 * DAY;
    const marker = 'needle-7f3a9c1e-only-here';
    for (let n = 0; n < 50; n++) await post({ user_id: `m${n}`, event_type: 'note', data: { text: `${marker} ${'x'.repeat(2000)}`, n } });
    const path = (server.database.location as { path: string }).path;
    const fileHolds = (): boolean => [path, `${path}-wal`].some((file) => {
      try {
        return readFileSync(file).includes(marker);
      } catch {
        return false;
      }
    });
    assert.ok(fileHolds(), 'the marker is in the file before');
    now = START + 400 * DAY;
    const run = await job.runNow();
    assert.ok(run.removed >= 50);
    assert.equal(fileHolds(), false);
  });
});
