/**
 * What every EventStore promises, whichever database is below it: written once, run on SQLite by
 * the first half of `npm test` and on PostgreSQL by the second (test/run-postgres-suite.ts), as
 * keyv's adapters share one suite. A backend that drifts from the other fails here.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { EventQuery, NewEvent, StoredEvent } from '../../src/events/event.js';
import { GENESIS_HASH } from '../../src/integrity/chain.js';
import { hasValidSignature } from '../../src/integrity/checkpoint.js';
import { verifyChain } from '../../src/integrity/verify-chain.js';
import { CLOCK_BEHIND_LOG } from '../../src/store/clock-behind-log.js';
import type { EventStore, StoreOptions } from '../../src/store/event-store.js';
import { IDEMPOTENCY_WINDOW_MS, IdempotencyConflictError } from '../../src/store/idempotency.js';
import { CHUNK_ROWS, CHUNK_SIZE } from '../../src/store/read-in-chunks.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable.js';
import { OBSERVER_FAILED } from '../../src/store/transaction-observer.js';
import { captureLog } from '../helpers/capture-log.js';
import { appendLeaf, EMPTY_FRONTIER, frontierRoot } from '../../src/integrity/merkle-tree.js';
import { dataCommitment, decodeLeaf } from '../../verifier/leaf.js';
import { leafHash, verifyInclusion } from '../../verifier/merkle.js';
import { parseNote, parseVerifierKey, verifyNoteSignature } from '../../verifier/signed-note.js';
import { createTestDatabase, TEST_BACKEND, TEST_CHAIN_SECRET, type TestDatabase } from '../helpers/test-database.js';

/**
 * Makes the database fail, mid-transaction, every insert of an event for the user "fails-all",
 * with an error that is not a refusal of the row: SQLite's "datatype mismatch" (SQLITE_MISMATCH,
 * from a trigger's own insert), PostgreSQL's raise_exception (P0001). And the code it fails with.
 */
const FAIL_THE_TRANSACTION = TEST_BACKEND === 'postgres'
  ? {
    sql: `CREATE FUNCTION fail_the_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.user_id = 'fails-all' THEN RAISE EXCEPTION 'the transaction fails'; END IF; RETURN NEW; END $$;
          CREATE TRIGGER fail_the_transaction BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION fail_the_transaction()`,
    code: 'P0001',
  }
  : {
    sql: `CREATE TABLE mismatch (n INTEGER PRIMARY KEY);
          CREATE TRIGGER fail_the_transaction BEFORE INSERT ON events WHEN NEW.user_id = 'fails-all'
            BEGIN INSERT INTO mismatch VALUES ('not a number'); END`,
    code: 'SQLITE_MISMATCH',
  };

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const START = Date.parse('2030-01-01T00:00:00Z');

/** A clock the test sets. */
function testClock(): { now(): number; set(ms: number): void } {
  let ms = START;
  return { now: () => ms, set: (to) => void (ms = to) };
}

/** A store on a fresh database of the backend under test, closed and dropped after the test. */
async function freshStore(t: TestContext, options: StoreOptions = {}): Promise<{ store: EventStore; database: TestDatabase; reopen(more?: StoreOptions): Promise<EventStore> }> {
  const database = await createTestDatabase();
  const open = (more: StoreOptions = {}) => database.openStore({ chainSecret: TEST_CHAIN_SECRET, ...options, ...more });
  let store = await open();
  t.after(async () => {
    await store.close();
    await database.drop();
  });
  return {
    store,
    database,
    async reopen(more) {
      await store.close();
      store = await open(more);
      return store;
    },
  };
}

const event = (userId: string, dataJson = '{}', more: Partial<NewEvent> = {}): NewEvent => ({ userId, eventType: 't', dataJson, keyName: 'svc', ...more });
const query = (userId: string, more: Partial<EventQuery> = {}): EventQuery => ({ userId, eventTypes: [], dataFilters: [], order: 'asc', ...more });

async function chunksOf(store: EventStore, q: EventQuery): Promise<StoredEvent[][]> {
  const chunks: StoredEvent[][] = [];
  for await (const chunk of store.query(q)) chunks.push([...chunk]);
  return chunks;
}
const all = async (store: EventStore, q: EventQuery): Promise<StoredEvent[]> => (await chunksOf(store, q)).flat();

describe(`the EventStore contract (${TEST_BACKEND})`, () => {
  it('appends an event and answers it as get and query return it: a UUIDv7 stamped by the clock, the next seq', async (t) => {
    const clock = testClock();
    const { store } = await freshStore(t, { clock: clock.now });
    const first = await store.append(event('u', '{"n":1.50}'));
    assert.match(first.id, UUID_V7);
    assert.deepEqual(first, { id: first.id, timestampMs: START, seq: 1, userId: 'u', eventType: 't', dataJson: '{"n":1.50}' });
    assert.deepEqual(await store.get(first.id), first);
    const [second, third] = await store.appendAll([event('u', '{"n":2}'), event('u', '{"n":3}')]);
    assert.deepEqual([second!.seq, third!.seq], [2, 3]);
    assert.ok(first.id < second!.id && second!.id < third!.id, 'ids in commit order');
    assert.deepEqual(await all(store, query('u')), [first, second, third]);
    assert.equal(await store.get('0190a000-0000-7000-8000-000000000000'), undefined);
  });

  it('never stamps an event behind the newest one when the clock goes back, and keeps its place last in every order', async (t) => {
    const clock = testClock();
    const { store } = await freshStore(t, { clock: clock.now });
    const before = await store.append(event('late'));
    clock.set(START - 3_600_000); // an hour back: NTP, or another instance whose clock is behind
    const after = await store.append(event('late'));
    const [batched] = await store.appendAll([event('late')]);
    for (const later of [after, batched!]) {
      assert.equal(later.timestampMs, START, `${later.timestampMs} is not behind ${START}`);
      assert.ok(later.id > before.id);
    }
    assert.deepEqual((await all(store, query('late'))).map((e) => e.id), [before.id, after.id, batched!.id]);
    assert.deepEqual((await all(store, query('late', { order: 'desc', limit: 1 }))).map((e) => e.id), [batched!.id]);
    clock.set(START + 5);
    assert.equal((await store.append(event('late'))).timestampMs, START + 5, 'and follows the clock again once it is ahead');
  });

  it('walks keyset pages in either order with nothing repeated or skipped, while events are written', async (t) => {
    const clock = testClock();
    const { store } = await freshStore(t, { clock: clock.now });
    const stored: StoredEvent[] = [];
    for (let i = 0; i < 23; i++) {
      if (i % 4 === 0) clock.set(START + i); // several events share each millisecond
      stored.push(await store.append(event('pager', `{"i":${i}}`)));
    }
    for (const order of ['asc', 'desc'] as const) {
      const seen: StoredEvent[] = [];
      let page: StoredEvent[] = [];
      do {
        const last = page.at(-1);
        page = await all(store, query('pager', { order, limit: 5, ...(last === undefined ? {} : { after: { timestampMs: last.timestampMs, seq: last.seq } }) }));
        seen.push(...page);
        if (order === 'asc' && seen.length === 10) await store.append(event('pager', '{"late":true}')); // found at the end, once
      } while (page.length === 5);
      const late = (await all(store, query('pager'))).slice(23);
      assert.equal(late.length, 1);
      const expected = order === 'asc' ? [...stored, ...late] : [...stored, ...late].reverse();
      assert.deepEqual(seen.map((e) => e.id), expected.map((e) => e.id), order);
    }
  });

  it(`reads a large answer in chunks of at most ${CHUNK_ROWS} rows`, async (t) => {
    const { store } = await freshStore(t);
    await store.appendAll(Array.from({ length: 1234 }, (_, i) => event('many', `{"i":${i}}`)));
    const chunks = await chunksOf(store, query('many'));
    assert.deepEqual(chunks.map((chunk) => chunk.length), [500, 500, 234]);
    assert.deepEqual(chunks.flat().map((e) => (JSON.parse(e.dataJson) as { i: number }).i), Array.from({ length: 1234 }, (_, i) => i));
  });

  it('ends each chunk at the event that brings it to 1 MiB of text, however large the events', async (t) => {
    const { store } = await freshStore(t);
    const large = (i: number) => event('large', JSON.stringify({ i, s: 'x'.repeat(300_000) }));
    for (let i = 0; i < 12; i++) await store.append(large(i));
    const chunks = await chunksOf(store, query('large'));
    const size = (e: StoredEvent) => e.dataJson.length + e.userId.length + e.eventType.length;
    assert.deepEqual(chunks.map((chunk) => chunk.length), [4, 4, 4]);
    for (const chunk of chunks) {
      const text = chunk.reduce((total, e) => total + size(e), 0);
      assert.ok(text >= CHUNK_SIZE && text - size(chunk.at(-1)!) < CHUNK_SIZE, `${text} characters`);
    }
  });

  it('marks the chunk that ends an answer as the last, and no other: one whose end it cannot know without reading on is not', async (t) => {
    const { store } = await freshStore(t);
    const lastFlags = async (q: EventQuery): Promise<boolean[]> => {
      const flags: boolean[] = [];
      for await (const chunk of store.query(q)) flags.push(chunk.last === true);
      return flags;
    };
    await store.appendAll(Array.from({ length: 1000 }, (_, i) => event('thousand', `{"i":${i}}`)));
    await store.appendAll([event('few'), event('few')]);
    for (let i = 0; i < 8; i++) await store.append(event('large', JSON.stringify({ i, s: 'x'.repeat(300_000) })));
    assert.deepEqual(await lastFlags(query('few')), [true]);
    assert.deepEqual(await lastFlags(query('nobody')), []);
    assert.deepEqual(await lastFlags(query('thousand')), [false, false], 'two full chunks: the end is learnt from a third read, which finds nothing');
    assert.deepEqual(await lastFlags(query('thousand', { limit: 700 })), [false, true], 'the limit ends the second');
    assert.deepEqual(await lastFlags(query('thousand', { limit: 500, order: 'desc' })), [true]);
    assert.deepEqual(await lastFlags(query('large')), [false, false], 'each stopped at 1 MiB of text: more may follow');
  });

  it('answers a retry with the same Idempotency-Key from the first, refuses another event under it, and keeps API keys apart', async (t) => {
    const { store, database } = await freshStore(t);
    const first = await store.append(event('idem', '{"pay":10}', { idempotencyKey: 'k-1' }));
    assert.equal(first.replayed, undefined);
    assert.deepEqual(await store.append(event('idem', '{"pay":10}', { idempotencyKey: 'k-1' })), { ...first, replayed: true });
    await assert.rejects(store.append(event('idem', '{"pay":99}', { idempotencyKey: 'k-1' })), IdempotencyConflictError);
    await assert.rejects(store.appendAll([event('idem', '{"other":1}'), event('idem', '{"pay":99}', { idempotencyKey: 'k-1' })]), IdempotencyConflictError);
    const other = await store.append(event('idem', '{"pay":99}', { idempotencyKey: 'k-1', keyName: 'ops' }));
    assert.notEqual(other.id, first.id);
    assert.deepEqual((await all(store, query('idem'))).map((e) => e.id), [first.id, other.id]);
    assert.equal(await database.countEvents('idem'), 2);
  });

  it('stores an Idempotency-Key once for concurrent retries, and decides between events of one submission', async (t) => {
    const { store, database } = await freshStore(t);
    const retries = await Promise.all(Array.from({ length: 20 }, () => store.append(event('race', '{}', { idempotencyKey: 'once' }))));
    assert.equal(new Set(retries.map((e) => e.id)).size, 1);
    assert.equal(retries.filter((e) => e.replayed !== true).length, 1);
    const [a, again] = await store.appendAll([event('race', '{"a":1}', { idempotencyKey: 'twice' }), event('race', '{"a":1}', { idempotencyKey: 'twice' })]);
    assert.deepEqual(again, { ...a, replayed: true });
    await assert.rejects(store.appendAll([event('race', '{"b":1}', { idempotencyKey: 'mixed' }), event('race', '{"b":2}', { idempotencyKey: 'mixed' })]), IdempotencyConflictError);
    assert.equal(await database.countEvents('race'), 2);
    // Nothing of the refused submission was kept: its key is still free.
    assert.equal((await store.append(event('race', '{"b":2}', { idempotencyKey: 'mixed' }))).replayed, undefined);
  });

  it('holds an Idempotency-Key for 24 hours by its clock, across a restart, then stores anew', async (t) => {
    const clock = testClock();
    const fresh = await freshStore(t, { clock: clock.now });
    const first = await fresh.store.append(event('window', '{}', { idempotencyKey: 'k' }));
    const store = await fresh.reopen();
    clock.set(START + IDEMPOTENCY_WINDOW_MS - 1);
    assert.equal((await store.append(event('window', '{}', { idempotencyKey: 'k' }))).id, first.id);
    clock.set(START + IDEMPOTENCY_WINDOW_MS);
    const later = await store.append(event('window', '{}', { idempotencyKey: 'k' }));
    assert.notEqual(later.id, first.id);
    assert.equal(later.replayed, undefined);
    assert.equal((await store.append(event('window', '{}', { idempotencyKey: 'k' }))).id, later.id, 'the new event holds the key now');
  });

  it('prunes exactly the Idempotency-Keys whose 24 hours are over by its clock: a retry of a live one still replays', async (t) => {
    const clock = testClock();
    const fresh = await freshStore(t, { clock: clock.now, pruneEveryCommits: 1 });
    const keyed = (store: EventStore, key: string) => store.append(event('prune', JSON.stringify({ key }), { idempotencyKey: key }));
    const stored: Record<string, StoredEvent> = {};
    for (const [key, at] of [['old', START], ['edge', START + 1], ['live', START + 2], ['later', START + 3_600_000]] as const) {
      clock.set(at);
      stored[key] = await keyed(fresh.store, key);
    }
    clock.set(START + IDEMPOTENCY_WINDOW_MS + 1); // "old" and "edge" (at the cutoff) are past their window
    await fresh.store.append(event('prune', '{"unkeyed":true}')); // a commit, then its pruning
    const store = await fresh.reopen(); // closing waits for the pruning
    assert.deepEqual(await fresh.database.idempotencyKeys(), [
      { keyName: 'svc', idempotencyKey: 'live', createdMs: START + 2 },
      { keyName: 'svc', idempotencyKey: 'later', createdMs: START + 3_600_000 },
    ]);
    assert.deepEqual(await keyed(store, 'live'), { ...stored.live, replayed: true });
    const anew = await keyed(store, 'edge');
    assert.equal(anew.replayed, undefined);
    assert.notEqual(anew.id, stored.edge!.id);
    assert.equal(await fresh.database.countEvents('prune'), 6);
  });

  it('stores a submission whole or not at all: one whose row the database refuses fails alone, and the chain goes on without it', async (t) => {
    const { store, database } = await freshStore(t);
    const results = await Promise.allSettled([
      store.append(event('whole', '{"n":1}')),
      store.appendAll([event('whole', '{"n":2}'), event('whole', '{not json'), event('whole', '{"n":3}')]), // the database refuses the middle one
      store.appendAll([event('whole', '{"n":4}'), event('whole', '{"n":5}')]),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    const refusal = (results[1] as PromiseRejectedResult).reason as StoreUnavailableError;
    assert.ok(refusal instanceof StoreUnavailableError);
    assert.equal(refusal.recognised, false, 'not a condition of the database: its cause is for the log, with its stack');
    assert.ok(refusal.cause instanceof Error);
    assert.deepEqual((await all(store, query('whole'))).map((e) => [e.seq, e.dataJson]), [[1, '{"n":1}'], [2, '{"n":4}'], [3, '{"n":5}']]);
    const verdict = await verifyChain(await database.chainRows(), Buffer.from(TEST_CHAIN_SECRET));
    assert.deepEqual([verdict.ok, verdict.chained], [true, 3]);
  });

  it('fails every submission of a transaction the database fails for a reason other than a refused row, keeping its code', async (t) => {
    const { store, database } = await freshStore(t);
    await database.execute(FAIL_THE_TRANSACTION.sql);
    // One turn, so one transaction: the failure of the last insert fails the two before it.
    const results = await Promise.allSettled([
      store.append(event('fine', '{"n":1}')),
      store.appendAll([event('fine', '{"n":2}'), event('fails-all')]),
    ]);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      const refusal = result.reason as StoreUnavailableError;
      assert.ok(refusal instanceof StoreUnavailableError);
      assert.deepEqual([refusal.recognised, refusal.outcomeUnknown], [false, false], 'nothing recorded, and a fault for the log');
      assert.equal((refusal.cause as { code?: unknown }).code, FAIL_THE_TRANSACTION.code);
    }
    assert.equal(await database.countEvents(), 0);
    assert.equal((await store.append(event('fine', '{"n":3}'))).seq, 1, 'and the chain goes on from where it was');
  });

  it('signs a checkpoint of the chain head that verify then proves', async (t) => {
    const { store, database } = await freshStore(t);
    const secret = Buffer.from(TEST_CHAIN_SECRET);
    const empty = await store.checkpoint();
    assert.deepEqual({ ...empty, createdAt: '', signature: '' }, { eventCount: 0, lastId: null, headHash: GENESIS_HASH.toString('hex'), createdAt: '', signature: '' });
    assert.ok(hasValidSignature(secret, empty));
    await store.appendAll(Array.from({ length: 5 }, (_, i) => event(`c${i % 2}`, `{"i":${i}}`)));
    const last = await store.append(event('c0'));
    const head = await store.checkpoint();
    const rows = await database.chainRows();
    assert.deepEqual([head.eventCount, head.lastId, head.headHash], [6, last.id, rows.at(-1)!.hash!.toString('hex')]);
    assert.ok(hasValidSignature(secret, head));
    const verdict = await verifyChain(rows, secret, head);
    assert.deepEqual([verdict.ok, verdict.checkpoint?.ok], [true, true]);
  });

  it('keeps a Merkle tree of every event committed, none of a refused submission or a replay, each proven into a signed checkpoint', async (t) => {
    const { store } = await freshStore(t, { checkpointIntervalMs: 60_000 });
    const results = await Promise.allSettled([
      store.append(event('tree', '{"n":1}', { idempotencyKey: 'once' })),
      store.appendAll([event('tree', '{"n":2}'), event('tree', '{not json'), event('tree', '{"n":3}')]),
      store.appendAll([event('tree', '{"n":4}'), event('tree', '{"n":5}')]),
      store.append(event('tree', '{"n":1}', { idempotencyKey: 'once' })),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const events = await all(store, query('tree'));
    assert.equal(events.length, 3);
    const proofs = await Promise.all(events.map(async (stored) => (await store.inclusionProof(stored.id))!));
    const checkpoint = (await store.signedCheckpoint(proofs[0]!.treeSize))!;
    assert.equal(checkpoint.size, 3, 'one leaf per event stored, none for the refused submission or the replay');
    verifyNoteSignature(parseNote(checkpoint.note), parseVerifierKey(store.verifierKey));
    let tree = EMPTY_FRONTIER;
    for (const [i, proof] of proofs.entries()) {
      const stored = events[i]!;
      assert.equal(proof.leafIndex, stored.seq - 1);
      assert.deepEqual(decodeLeaf(proof.leaf!), {
        id: stored.id, timestampMs: stored.timestampMs, userId: 'tree', eventType: 't', keyName: 'svc', dataSha256: dataCommitment(proof.salt!, stored.dataJson),
      });
      verifyInclusion(proof.leafIndex, checkpoint.size, leafHash(proof.leaf!), proof.path, checkpoint.rootHash);
      tree = appendLeaf(tree, leafHash(proof.leaf!)).frontier;
    }
    assert.deepEqual(frontierRoot(tree), checkpoint.rootHash, 'the signed root is the root of the leaves, in seq order');
  });

  it('stores no event whose leaf the tree cannot take (a leaf written in by hand at its place), and says so as a fault', async (t) => {
    const { store, database } = await freshStore(t);
    await store.append(event('leafless'));
    const blob = (hex: string) => (TEST_BACKEND === 'postgres' ? `'\\x${hex}'::bytea` : `x'${hex}'`);
    await database.execute(`INSERT INTO merkle_leaves (seq, salt, hash, nodes) VALUES (2, ${blob('00')}, ${blob('11'.repeat(32))}, ${blob('')})`);
    const refusal = await store.append(event('leafless', '{"n":2}')).then(() => undefined, (error: unknown) => error);
    assert.ok(refusal instanceof StoreUnavailableError, String(refusal));
    assert.equal(refusal.recognised, false, 'a fault for the log, with its cause');
    assert.equal(await database.countEvents(), 1, 'the event went with its leaf');
  });

  it('builds the Merkle tree over the events of a log from before it at the next start, says so, and grows it from there', async (t) => {
    const { database, reopen } = await freshStore(t, { checkpointIntervalMs: 60_000 });
    const ids = ['0190a000-0000-7000-8000-000000000001', '0190a000-0000-7000-8000-000000000002', '0190a000-0000-7000-8000-000000000003'];
    await database.execute(ids.map((id, i) => `INSERT INTO events (seq, id, ts, user_id, event_type, data) VALUES (${i + 1}, '${id}', ${START + i}, 'early', 't', '{"i":${i}}')`).join(';\n'));
    const log = captureLog();
    const store = await reopen({ log: log.logger });
    assert.deepEqual(log.lines.filter((line) => String(line.msg).startsWith('Merkle tree built')).map((line) => [line.msg, line.events]),
      [['Merkle tree built over the events stored before it', 3]]);
    const later = await store.append(event('later'));
    assert.equal(later.seq, 4);
    const checkpoint = (await store.signedCheckpoint((await store.inclusionProof(later.id))!.treeSize))!;
    assert.equal(checkpoint.size, 4);
    for (const id of [...ids, later.id]) {
      const proof = (await store.inclusionProof(id, 4))!;
      assert.equal(decodeLeaf(proof.leaf!).keyName, id === later.id ? 'svc' : null, 'an event from before key names has none in its leaf');
      verifyInclusion(proof.leafIndex, 4, leafHash(proof.leaf!), proof.path, checkpoint.rootHash);
    }
  });

  it('reports each committed transaction\'s events, replays not counted', async (t) => {
    const written: number[] = [];
    const { store } = await freshStore(t, { onTransactionCommitted: (events) => written.push(events) });
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.append(event('counted', `{"i":${i}}`, { idempotencyKey: `k${i}` }))));
    await store.append(event('counted', '{"i":0}', { idempotencyKey: 'k0' }));
    await store.appendAll([event('counted'), event('counted')]);
    assert.equal(written.reduce((sum, events) => sum + events, 0), 12);
    assert.ok(written.length < 12, `10 concurrent appends went into fewer transactions: ${written.join(', ')}`);
  });

  it('answers a committed write as stored although the observer of transactions throws, and logs the fault with its stack', async (t) => {
    const captured = captureLog();
    const { store, database } = await freshStore(t, {
      log: captured.logger,
      onTransactionCommitted: () => {
        throw new Error('a fault of the observer');
      },
    });
    const first = await store.append(event('observed'));
    const batch = await store.appendAll([event('observed'), event('observed')]);
    assert.deepEqual([first, ...batch].map((e) => e.seq), [1, 2, 3]);
    assert.equal(await database.countEvents('observed'), 3);
    const faults = captured.lines.filter((line) => line.msg === OBSERVER_FAILED);
    assert.equal(faults.length, 2, 'one line per transaction');
    for (const line of faults) assert.match(String(line.error), /^Error: a fault of the observer\n\s+at /);
    assert.equal(await store.isReady(), true);
  });

  it('stamps events with the newest one\'s time while its clock is behind it, and says how far behind: a number after each commit, a line past 1 s', async (t) => {
    const clock = testClock();
    const captured = captureLog();
    const reported: number[] = [];
    const { store } = await freshStore(t, { clock: clock.now, log: captured.logger, onClockBehindLog: (seconds) => reported.push(seconds) });
    await store.append(event('clock'));
    clock.set(START - 1000); // within a commit's time: reported, not logged
    await store.append(event('clock'));
    clock.set(START - 90_000); // a clock stepped back, or another instance's 90 s ahead
    assert.equal((await store.append(event('clock'))).timestampMs, START);
    await store.append(event('clock', '{}', { idempotencyKey: 'k' }));
    await store.append(event('clock', '{}', { idempotencyKey: 'k' })); // a replay stamps nothing
    clock.set(START + 5);
    await store.append(event('clock'));
    assert.deepEqual(reported, [0, 1, 90, 90, 0]);
    // At most once a second (clock-behind-log.test.ts): here once or twice, as the machine is fast or slow.
    const lines = captured.lines.filter((line) => line.msg === CLOCK_BEHIND_LOG).map(({ level, clock_behind_ms }) => ({ level, clock_behind_ms }));
    assert.deepEqual(lines[0], { level: 'error', clock_behind_ms: 90_000 });
    assert.deepEqual(lines.slice(1), lines.slice(1).map(() => lines[0]), 'only while 90 s behind');
  });

  it('is ready while open, and commits every write queued before close, then refuses writes, as the store closed, and readiness', async (t) => {
    const captured = captureLog();
    const fresh = await freshStore(t, { log: captured.logger });
    const { store } = fresh;
    assert.equal(await store.isReady(), true);
    assert.ok((await store.sizeBytes()) > 0);
    const queued = Array.from({ length: 50 }, (_, i) => store.append(event('queued', `{"i":${i}}`)));
    await store.close();
    assert.equal((await Promise.all(queued)).length, 50);
    assert.equal(await store.isReady(), false);
    await assert.rejects(store.append(event('queued')), (error) => {
      assert.ok(error instanceof StoreUnavailableError);
      assert.deepEqual([error.message, error.recognised, error.outcomeUnknown], ['the store is closed', true, false]);
      return true;
    });
    assert.deepEqual(captured.lines.filter((line) => line.level === 'error').map(({ msg, requests }) => ({ msg, requests })),
      [{ msg: 'writes refused: the store is closed', requests: 1 }], 'one line, counted, no stack');
    const reopened = await fresh.reopen();
    assert.deepEqual((await all(reopened, query('queued'))).map((e) => JSON.parse(e.dataJson)), Array.from({ length: 50 }, (_, i) => ({ i })));
  });
});
