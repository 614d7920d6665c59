import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { encodeLeaf } from '../../verifier/leaf.js';
import { leafHash } from '../../verifier/merkle.js';
import { chainHash, chainHashOverLeaf } from '../../src/integrity/chain.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { eraseSubject } from '../../src/retention/erase-subject.js';
import { createRemovalLock } from '../../src/retention/removal-lock.js';
import type { EventStore } from '../../src/store/event-store.js';
import { apiCalls } from '../helpers/api-calls.js';
import { errorMessage, startTestServer, type TestServer } from '../helpers/test-server.js';

describe(`POST /erasures (${TEST_BACKEND})`, () => {
  let server: TestServer;
  const { call, events, post, byId } = apiCalls(() => server);

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('erases a user: payload, salt and name gone, the events still there under a pseudonym, found by no filter, in no export', async () => {
    const ids = [
      await post({ user_id: 'ada@example.com', event_type: 'login', data: { ip: '198.51.100.7', city: 'Bletchley' } }),
      await post({ user_id: 'ada@example.com', event_type: 'payment', data: { amount: 42, card: '4111-ada' } }),
    ];
    const bystander = await post({ user_id: 'bob', event_type: 'login', data: { ip: '203.0.113.9', mentions: 'someone' } });

    const response = await call('POST', '/erasures', { user_id: 'ada@example.com', reason: 'GDPR art. 17 request #1234' });
    assert.equal(response.status, 200);
    const outcome = (await response.json()) as { erased: number; record: string };
    assert.equal(outcome.erased, 2);

    assert.deepEqual(await events('user_id=ada%40example.com'), []);
    assert.deepEqual(await events('data.ip=198.51.100.7'), []);
    assert.deepEqual(await events('data.card=4111-ada'), []);
    const erased = await Promise.all(ids.map(byId));
    for (const event of erased) {
      assert.equal(event.data, null);
      assert.match(event.user_id, /^erased-[A-Za-z0-9_-]{32}$/);
      assert.equal(event.removed?.reason, 'erasure');
      assert.equal(event.removed?.by, outcome.record);
    }
    assert.equal(erased[0]!.user_id, erased[1]!.user_id, 'one subject, one pseudonym');
    assert.equal((await byId(bystander)).data?.ip, '203.0.113.9');

    for (const accept of ['application/json', 'application/x-ndjson', 'text/csv']) {
      const exported = await (await server.get('order=asc&all=true', { Accept: accept })).text();
      // Distinctive strings only: a short one ("ada") turns up in ids' hex and pseudonyms' base64 by chance.
      for (const secret of ['ada@example.com', 'Bletchley', '198.51.100.7', '4111-ada']) assert.ok(!exported.includes(secret), `${accept} export holds "${secret}"`);
    }

    const [record] = await events('event_type=auditor.erasure');
    assert.equal(record!.id, outcome.record);
    assert.equal(record!.user_id, 'auditor');
    assert.deepEqual(record!.data, {
      subject: 'user_id', pseudonym: erased[0]!.user_id, reason: 'GDPR art. 17 request #1234',
      removes: ['data', 'salt', 'data_sha256', 'user_id'], requested_by: 'AUDITOR_API_KEY',
    });
    assert.ok(!JSON.stringify(record).includes('ada@example.com'), 'the record does not name the subject');

    const stored = await server.database.select(`SELECT e.user_id, e.data, l.salt, l.data_sha256 FROM events e JOIN merkle_leaves l ON l.seq = e.seq WHERE e.removed_by IS NOT NULL`);
    assert.equal(stored.length, 2);
    for (const row of stored) {
      assert.equal(row.salt, null);
      assert.equal(row.data_sha256, null);
      assert.ok(!JSON.stringify(row).includes('ada@example.com'));
    }

    const again = await call('POST', '/erasures', { user_id: 'ada@example.com' });
    assert.deepEqual(await again.json(), { erased: 0, record: null });
    assert.equal((await events('event_type=auditor.erasure')).length, 1, 'nothing to erase records nothing');
  });

  it('erases whoever a field of data names, keeping the events\' users', async () => {
    await post({ user_id: 'clerk-1', event_type: 'case.viewed', data: { patient: { email: 'carol@example.org' }, ward: 3 } });
    await post({ user_id: 'clerk-2', event_type: 'case.viewed', data: { patient: { email: 'carol@example.org' } } });
    const other = await post({ user_id: 'clerk-1', event_type: 'case.viewed', data: { patient: { email: 'dave@example.org' } } });

    const response = await call('POST', '/erasures', { data: { 'patient.email': 'carol@example.org' } });
    assert.deepEqual(((await response.json()) as { erased: number }).erased, 2);
    assert.deepEqual(await events('data.patient.email=carol%40example.org'), []);
    const clerk = await events('user_id=clerk-1&order=asc');
    assert.deepEqual(clerk.map((event) => event.data), [null, { patient: { email: 'dave@example.org' } }]);
    assert.equal(clerk[1]!.id, other);
    const [record] = await events('event_type=auditor.erasure&data.subject=data.patient.email');
    assert.deepEqual(record!.data!.removes, ['data', 'salt']);
  });

  it('takes the name off an event of the user whose payload an erasure by a field of data removed before', async () => {
    const id = await post({ user_id: 'grace', event_type: 'case.viewed', data: { patient: 'heidi' } });
    assert.equal(((await (await call('POST', '/erasures', { data: { patient: 'heidi' } })).json()) as { erased: number }).erased, 1);
    assert.equal((await byId(id)).user_id, 'grace', 'an erasure by a field keeps the user');
    assert.equal(((await (await call('POST', '/erasures', { user_id: 'grace' })).json()) as { erased: number }).erased, 1);
    const erased = await byId(id);
    assert.match(erased.user_id, /^erased-/);
    assert.deepEqual(await events('user_id=grace'), []);
    const [leaf] = await server.database.select(`SELECT l.salt, l.data_sha256 FROM merkle_leaves l JOIN events e ON e.seq = l.seq WHERE e.id = '${id}'`);
    assert.deepEqual([leaf!.salt, leaf!.data_sha256], [null, null]);
  });

  it('leaves nothing from which a 4-digit value could be guessed, even with the chain secret: the salt is gone (the same search finds it while the salt is there)', async () => {
    const id = await post({ user_id: 'pin-holder', event_type: 'card.pin_set', data: { pin: '4821' } });
    const leafOf = async () => (await server.database.select(`SELECT l.salt, l.data_sha256, l.hash FROM merkle_leaves l JOIN events e ON e.seq = l.seq WHERE e.id = '${id}'`))[0]!;
    const rowOf = async () => (await server.database.select(
      `SELECT e.id, e.ts, e.event_type, e.key_name, e.user_id, e.data, e.hash, p.hash AS previous FROM events e JOIN events p ON p.seq = e.seq - 1 WHERE e.id = '${id}'`))[0]!;
    const secret = server.database.chainSecret();

    // What an attacker with the database and the chain secret would try: every value, under every
    // salt left to them, against every hash left to them (the leaf's, the data's commitment where
    // one is kept, and the chain link, over the leaf or over the event's canonical form).
    const guess = (row: Record<string, unknown>, leaf: Record<string, unknown>, userId: string): string | undefined => {
      const salts = [leaf.salt, Buffer.alloc(16), Buffer.alloc(0)].filter((salt): salt is Buffer => Buffer.isBuffer(salt));
      const fields = { id: String(row.id), timestampMs: Number(row.ts), userId, eventType: String(row.event_type), keyName: row.key_name as string | null };
      const previous = row.previous as Buffer;
      for (let n = 0; n < 10_000; n++) {
        const dataJson = JSON.stringify({ pin: String(n).padStart(4, '0') });
        if (chainHash(secret, previous, { ...fields, dataJson }).equals(row.hash as Buffer)) return dataJson;
        for (const salt of salts) {
          const commitment = createHash('sha256').update(salt).update(dataJson).digest();
          if (Buffer.isBuffer(leaf.data_sha256) && commitment.equals(leaf.data_sha256)) return dataJson;
          const guessedLeaf = leafHash(encodeLeaf({ ...fields, dataSha256: commitment }));
          if (guessedLeaf.equals(leaf.hash as Buffer)) return dataJson;
          if (chainHashOverLeaf(secret, previous, guessedLeaf).equals(row.hash as Buffer)) return dataJson;
        }
      }
      return undefined;
    };
    // The attacker is even told whose event it was.
    assert.equal(guess(await rowOf(), await leafOf(), 'pin-holder'), '{"pin":"4821"}', 'the search works while the salt is kept');

    assert.equal(((await (await call('POST', '/erasures', { user_id: 'pin-holder' })).json()) as { erased: number }).erased, 1);
    const [row, leaf] = [await rowOf(), await leafOf()];
    assert.equal(leaf.salt, null);
    assert.equal(guess(row, leaf, 'pin-holder'), undefined);
    assert.equal(guess(row, leaf, String(row.user_id)), undefined);
  });

  it('finishes, when asked again, an erasure the database failed in the middle of', async () => {
    for (let n = 0; n < 5; n++) await post({ user_id: 'interrupted', event_type: 'step', data: { n } });
    // The database fails the second batch: the record and the first batch are in, the rest is not.
    let batches = 0;
    const failing: EventStore = {
      ...server.store,
      removals: {
        ...server.store.removals,
        removePayloads: (removal) => (++batches === 2 ? Promise.reject(new Error('disk I/O error')) : server.store.removals.removePayloads(removal)),
      },
    };
    const lock = createRemovalLock();
    const request = { subject: { kind: 'user' as const, userId: 'interrupted' }, reason: null, requestedBy: 'ops' };
    await assert.rejects(eraseSubject(failing, lock, request, 2), /disk I\/O error/);
    assert.equal((await events('user_id=interrupted')).length, 3, 'two erased, three left under the name');

    const finished = await eraseSubject(server.store, lock, request, 2);
    assert.equal(finished.erased, 3);
    assert.deepEqual(await events('user_id=interrupted'), []);
    const records = await events('event_type=auditor.erasure&order=asc');
    const last = records.slice(-2);
    assert.equal(last[0]!.data!.pseudonym, last[1]!.data!.pseudonym, 'both records name the one subject');
  });

  it('refuses, with a 4xx that says why and nothing erased, what is not an erasure', async () => {
    await post({ user_id: 'eve', event_type: 'login', data: { n: 1 } });
    const cases: Array<[unknown, number, RegExp]> = [
      [{}, 400, /exactly one of user_id/],
      [{ user_id: 'eve', data: { n: 1 } }, 400, /exactly one of user_id/],
      [{ user_id: '' }, 400, /user_id must not be empty/],
      [{ user_id: 7 }, 400, /user_id must be a string/],
      [{ user_id: 'eve', reason: 5 }, 400, /reason must be a string/],
      [{ user_id: 'eve', reason: 'x'.repeat(1001) }, 400, /reason must be at most 1000/],
      [{ user_id: 'eve', why: 'x' }, 400, /Unknown property "why"/],
      [{ data: {} }, 400, /exactly one field, not 0/],
      [{ data: { a: 1, b: 2 } }, 400, /exactly one field, not 2/],
      [{ data: { 'a..b': 1 } }, 400, /not a field name/],
      [{ data: { a: { b: 1 } } }, 400, /a string, a number or a boolean/],
      [{ data: 'eve' }, 400, /data must be a JSON object/],
      ['[1]', 400, /must be a JSON object/],
      ['{"user_id":', 400, /JSON/],
    ];
    for (const [body, status, message] of cases) {
      const response = await call('POST', '/erasures', body);
      assert.equal(response.status, status, JSON.stringify(body));
      assert.match(await errorMessage(response), message);
    }
    const big = await call('POST', '/erasures', { user_id: 'eve', reason: 'x'.repeat(20_000) });
    assert.equal(big.status, 413);
    assert.equal((await events('user_id=eve'))[0]!.data?.n, 1, 'eve is untouched');
  });

  it('is for admin keys only', async () => {
    const keysServer = server;
    const response = await fetch(`${keysServer.url}/erasures`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"user_id":"eve"}' });
    assert.equal(response.status, 401);
  });
});
