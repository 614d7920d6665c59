import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { NewEvent } from '../../src/events/event.js';
import { createUuidV7Generator } from '../../src/events/uuid-v7.js';
import { chainHash, chainHashOverLeaf, GENESIS_HASH } from '../../src/integrity/chain.js';
import { eventLeaf, eventLeafHash } from '../../src/integrity/event-leaf.js';
import { appendLeaf, EMPTY_FRONTIER, leafHash, type Frontier } from '../../src/integrity/merkle-tree.js';
import { IDEMPOTENCY_WINDOW_MS, idempotencyRequestDigest } from '../../src/store/idempotency.js';
import { logHead, planCommit, startCommitPlan, type CommitPlan, type CommitStart, type LogHead } from '../../src/store/plan-commit.js';
import type { IdempotencyRecord, Submission } from '../../src/store/storage-backend.js';

const SECRET = Buffer.from('planner-test-secret');
const NOW = 1_760_000_000_000;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const event = (dataJson: string, more: Partial<NewEvent> = {}): NewEvent => ({ userId: 'u', eventType: 't', dataJson, ...more });

/** The head after an event stored at `timestampMs` with an id made then, as seq `seq`. */
function headAt(seq: number, timestampMs: number): LogHead {
  const { id } = createUuidV7Generator(() => timestampMs)();
  return logHead({ seq, id, timestampMs, hash: chainHash(SECRET, GENESIS_HASH, { id, timestampMs, userId: 'u', eventType: 't', dataJson: '{}', keyName: null }) });
}

/** A tree of `size` made-up leaves: the planner only needs its right edge to be as large as the head. */
function treeOf(size: number): Frontier {
  let tree = EMPTY_FRONTIER;
  for (let i = 0; i < size; i++) tree = appendLeaf(tree, Buffer.alloc(32, i)).frontier;
  return tree;
}

const start = (more: Partial<CommitStart> = {}): CommitStart => {
  const head = more.head ?? logHead(undefined);
  return { head, records: [], now: NOW, secret: SECRET, tree: treeOf(head.seq), ...more };
};

/** A record as a backend reads it, stored `ageMs` before NOW for `stored`. */
function recordFor(stored: NewEvent, place: { eventId: string; timestampMs: number; seq: number }, ageMs: number): IdempotencyRecord {
  return { keyName: stored.keyName ?? '', idempotencyKey: stored.idempotencyKey!, request: idempotencyRequestDigest(stored), ...place, createdMs: NOW - ageMs };
}

/** Asserts that `plan`'s rows follow `head`: seqs one by one, each link over the one before, ids and times never behind. */
function assertFollows(plan: CommitPlan, head: LogHead): void {
  let { seq, hash } = head;
  let last = head.last;
  for (const row of plan.rows) {
    assert.equal(row.seq, ++seq);
    assert.deepEqual(row.hash, chainHashOverLeaf(SECRET, hash, eventLeafHash(row, row.salt)), 'the link is over the leaf of its own fields');
    hash = row.hash;
    assert.match(row.id, UUID_V7);
    assert.equal(parseInt(row.id.replace(/-/g, '').slice(0, 12), 16), row.timestampMs, 'the id\'s time field is its timestamp');
    if (last !== undefined) {
      assert.ok(row.id > last.id, `${row.id} sorts after ${last.id}`);
      assert.ok(row.timestampMs >= last.timestampMs, `${row.timestampMs} is not behind ${last.timestampMs}`);
    }
    last = row;
  }
}

describe('planCommit', () => {
  it('gives each new event the next seq, a UUIDv7 stamped now, and a chain link from the head', () => {
    const head = headAt(41, NOW - 5000);
    const plan = planCommit(start({ head }), [[event('{"a":1}')], [event('{"b":2}', { keyName: 'svc' }), event('{"c":3}')]]);
    assert.deepEqual(plan.rows.map((row) => [row.seq, row.dataJson, row.keyName, row.timestampMs]),
      [[42, '{"a":1}', null, NOW], [43, '{"b":2}', 'svc', NOW], [44, '{"c":3}', null, NOW]]);
    assertFollows(plan, head);
    assert.deepEqual(plan.outcomes, [
      { kind: 'stored', placements: [[plan.rows[0]!.id, NOW, 42, false]] },
      { kind: 'stored', placements: [[plan.rows[1]!.id, NOW, 43, false], [plan.rows[2]!.id, NOW, 44, false]] },
    ]);
    assert.deepEqual(plan.records, []);
  });

  it('starts the chain at the genesis hash in an empty log, and after events from before the chain began', () => {
    const empty = planCommit(start(), [[event('{}')]]);
    assert.equal(empty.rows[0]!.seq, 1);
    assert.deepEqual(empty.rows[0]!.hash, chainHashOverLeaf(SECRET, GENESIS_HASH, eventLeafHash(empty.rows[0]!, empty.rows[0]!.salt)));
    // Events from before the chain began have no hash: the chain begins after them.
    const legacy = logHead({ seq: 7, id: '0190a000-0000-7000-8000-000000000007', timestampMs: 0x0190a0000000, hash: null });
    const afterLegacy = planCommit(start({ head: legacy }), [[event('{}')]]);
    assert.equal(afterLegacy.rows[0]!.seq, 8);
    assert.deepEqual(afterLegacy.rows[0]!.hash, chainHashOverLeaf(SECRET, GENESIS_HASH, eventLeafHash(afterLegacy.rows[0]!, afterLegacy.rows[0]!.salt)));
  });

  it('never stamps an event behind the head, and sorts its id after the head\'s, when the clock is behind', () => {
    const head = headAt(10, NOW + 3_600_000); // another instance's clock ran an hour ahead
    const plan = planCommit(start({ head }), Array.from({ length: 5 }, (_, i) => [event(`{"i":${i}}`)]));
    assert.deepEqual(plan.rows.map((row) => row.timestampMs), Array<number>(5).fill(NOW + 3_600_000));
    assertFollows(plan, head);
  });

  it('counts on past the head\'s id within its millisecond, across commits', () => {
    let head = logHead(undefined);
    const ids: string[] = [];
    for (let commit = 0; commit < 50; commit++) {
      const plan = planCommit(start({ head }), [[event('{}')], [event('{}')]]);
      assertFollows(plan, head);
      ids.push(...plan.rows.map((row) => row.id));
      head = logHead(plan.rows.at(-1));
    }
    assert.deepEqual([...ids].sort(), ids, 'one millisecond, a hundred events, ids in commit order');
  });

  it('answers an Idempotency-Key stored within the window from its record, and stores anew once it expired', () => {
    const retry = event('{"pay":10}', { keyName: 'svc', idempotencyKey: 'k-1' });
    const place = { eventId: '0190a000-0000-7000-8000-000000000003', timestampMs: NOW - 1000, seq: 3 };
    const head = headAt(9, NOW - 1000);
    const fresh = planCommit(start({ head, records: [recordFor(retry, place, IDEMPOTENCY_WINDOW_MS - 1)] }), [[retry]]);
    assert.deepEqual(fresh, { rows: [], records: [], outcomes: [{ kind: 'stored', placements: [[place.eventId, place.timestampMs, 3, true]] }], tree: treeOf(9) });

    const expired = planCommit(start({ head, records: [recordFor(retry, place, IDEMPOTENCY_WINDOW_MS)] }), [[retry]]);
    assert.equal(expired.rows.length, 1);
    const [row] = expired.rows;
    assert.deepEqual(expired.outcomes, [{ kind: 'stored', placements: [[row!.id, NOW, 10, false]] }]);
    assert.deepEqual(expired.records, [{
      keyName: 'svc', idempotencyKey: 'k-1', request: idempotencyRequestDigest(retry), eventId: row!.id, timestampMs: NOW, seq: 10, createdMs: NOW,
    }]);
  });

  it('refuses a whole submission whose Idempotency-Key was used for a different event, and plans the next as if it were not there', () => {
    const stored = event('{"pay":10}', { keyName: 'svc', idempotencyKey: 'k-1' });
    const record = recordFor(stored, { eventId: '0190a000-0000-7000-8000-000000000001', timestampMs: NOW - 10, seq: 1 }, 10);
    const head = headAt(1, NOW - 10);
    const plan = planCommit(start({ head, records: [record] }), [
      [event('{"first":true}'), event('{"pay":99}', { keyName: 'svc', idempotencyKey: 'k-1' })],
      [event('{"next":true}')],
    ]);
    assert.deepEqual(plan.outcomes[0], { kind: 'conflict' });
    assert.deepEqual(plan.rows.map((row) => [row.seq, row.dataJson]), [[2, '{"next":true}']]);
    assertFollows(plan, head);
  });

  it('replays and refuses between events of one commit, and of one submission', () => {
    const a = event('{"a":1}', { keyName: 'svc', idempotencyKey: 'k' });
    const b = event('{"b":2}', { keyName: 'svc', idempotencyKey: 'k' });
    const plan = planCommit(start(), [[a], [a], [b], [event('{}', { keyName: 'svc', idempotencyKey: 'j' }), event('{}', { keyName: 'svc', idempotencyKey: 'j' })], [event('{"x":1}', { keyName: 'svc', idempotencyKey: 'i' }), event('{"x":2}', { keyName: 'svc', idempotencyKey: 'i' })]]);
    const [first, j] = plan.rows;
    assert.deepEqual(plan.outcomes, [
      { kind: 'stored', placements: [[first!.id, NOW, 1, false]] },
      { kind: 'stored', placements: [[first!.id, NOW, 1, true]] },
      { kind: 'conflict' },
      { kind: 'stored', placements: [[j!.id, NOW, 2, false], [j!.id, NOW, 2, true]] },
      { kind: 'conflict' },
    ]);
    assert.equal(plan.rows.length, 2);
    assert.deepEqual(plan.records.map((record) => [record.idempotencyKey, record.eventId]), [['k', first!.id], ['j', j!.id]]);
  });

  it('keeps the keys of different API keys apart', () => {
    const plan = planCommit(start(), [[event('{}', { keyName: 'svc', idempotencyKey: 'k' })], [event('{"other":1}', { keyName: 'ops', idempotencyKey: 'k' })]]);
    assert.deepEqual(plan.outcomes.map((outcome) => outcome.kind), ['stored', 'stored']);
    assert.equal(plan.rows.length, 2);
  });

  it('records the Idempotency-Key of an event without a key name under the empty name, and answers its retry from that record', () => {
    const anonymous = event('{"a":1}', { idempotencyKey: 'k' });
    const first = planCommit(start(), [[anonymous]]);
    const [row] = first.rows;
    assert.equal(row!.keyName, null);
    assert.deepEqual(first.records, [{ keyName: '', idempotencyKey: 'k', request: idempotencyRequestDigest(anonymous), eventId: row!.id, timestampMs: NOW, seq: 1, createdMs: NOW }]);
    const retry = planCommit(start({ head: logHead(row), records: first.records }), [[anonymous]]);
    assert.deepEqual(retry, { rows: [], records: [], outcomes: [{ kind: 'stored', placements: [[row!.id, NOW, 1, true]] }], tree: treeOf(1) });
  });

  it('keeps nothing of a submission the database refused: the next takes its seqs and its link, and its keys stay free', () => {
    const head = headAt(5, NOW - 1);
    const planner = startCommitPlan(start({ head }));
    planner.next([event('{"kept":1}')]);
    planner.accept();
    const refused = planner.next([event('{"refused":1}', { keyName: 'svc', idempotencyKey: 'k' }), event('{"refused":2}')]);
    assert.deepEqual(refused.map((row) => row.seq), [7, 8]);
    planner.refuse('CHECK constraint failed: json_valid(data)');
    planner.next([event('{"kept":2}', { keyName: 'svc', idempotencyKey: 'k' })]);
    planner.accept();
    const plan = planner.finish();
    assert.deepEqual(plan.rows.map((row) => [row.seq, row.dataJson]), [[6, '{"kept":1}'], [7, '{"kept":2}']]);
    assertFollows(plan, head);
    assert.deepEqual(plan.outcomes.map((outcome) => outcome.kind), ['stored', 'refused', 'stored']);
    assert.deepEqual(plan.outcomes[1], { kind: 'refused', reason: 'CHECK constraint failed: json_valid(data)' });
    assert.deepEqual(plan.records.map((record) => record.eventId), [plan.rows[1]!.id]);
  });

  it('plans one submission at a time: the next waits until the last is accepted or refused', () => {
    const planner = startCommitPlan(start());
    planner.next([event('{}')]);
    assert.throws(() => planner.next([event('{}')]), /neither accepted nor refused/);
    assert.throws(() => planner.finish(), /neither accepted nor refused/);
    planner.refuse('no');
    assert.throws(() => planner.accept(), /call next\(\) first/);
  });
});

/** A small world, so that keys, key names and bodies collide often. */
const newEvent: fc.Arbitrary<NewEvent> = fc.record({
  userId: fc.constantFrom('u1', 'u2'),
  eventType: fc.constant('t'),
  dataJson: fc.constantFrom('{}', '{"a":1}', '{"a":2}'),
  keyName: fc.constantFrom('svc', 'ops'),
  idempotencyKey: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined }),
}).map((generated) => {
  const { idempotencyKey, ...rest } = generated;
  return idempotencyKey === undefined ? rest : { ...rest, idempotencyKey };
});

type World = { start: CommitStart; submissions: Submission[]; refused: Set<number> };

const world: fc.Arbitrary<World> = fc.record({
  headSeq: fc.nat({ max: 1000 }),
  headOffsetMs: fc.option(fc.integer({ min: -7_200_000, max: 7_200_000 }), { nil: undefined }),
  records: fc.array(fc.record({ event: newEvent, ageMs: fc.integer({ min: 0, max: 2 * IDEMPOTENCY_WINDOW_MS }) }), { maxLength: 4 }),
  submissions: fc.array(fc.array(newEvent, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
  refused: fc.array(fc.nat({ max: 11 }), { maxLength: 4 }),
}).map(({ headSeq, headOffsetMs, records, submissions, refused }) => {
  const head = headOffsetMs === undefined || headSeq === 0 ? logHead(undefined) : headAt(headSeq, NOW + headOffsetMs);
  const stored = records
    .filter((record) => record.event.idempotencyKey !== undefined)
    .map((record, i) => recordFor(record.event, { eventId: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`, timestampMs: NOW - 1, seq: i + 1 }, record.ageMs));
  return { start: start({ head, records: stored }), submissions, refused: new Set(refused) };
});

/**
 * The commit planned one submission at a time, as a backend runs it, the database refusing a row
 * of each submission `refused` names (a submission with no row to insert is never refused).
 */
function planRefusing({ start: from, submissions, refused }: World): CommitPlan {
  const planner = startCommitPlan(from);
  submissions.forEach((submission, i) => {
    const rows = planner.next(submission);
    if (refused.has(i) && rows.length > 0) planner.refuse('refused by the test');
    else planner.accept();
  });
  return planner.finish();
}

/** What a plan decided, without the ids and times it drew: comparable between two plans. */
function decisions(plan: CommitPlan): unknown {
  return {
    rows: plan.rows.map(({ seq, userId, dataJson, keyName }) => [seq, userId, dataJson, keyName]),
    outcomes: plan.outcomes.map((outcome) => (outcome.kind === 'stored' ? outcome.placements.map(([, , seq, replayed]) => [seq, replayed]) : outcome.kind)),
  };
}

describe('planCommit, for any commit', () => {
  it('assigns contiguous seqs from the head, chains each row to the one before, and never goes behind the head', () => {
    fc.assert(fc.property(world, (w) => {
      const plan = planRefusing(w);
      assertFollows(plan, w.start.head);
      if (w.start.head.last !== undefined) for (const row of plan.rows) assert.ok(row.timestampMs >= Math.max(NOW, w.start.head.last.timestampMs));
    }));
  });

  it('answers every submission whole: all its events stored or replayed, or none of them', () => {
    fc.assert(fc.property(world, (w) => {
      const plan = planRefusing(w);
      assert.equal(plan.outcomes.length, w.submissions.length);
      const rowsBySeq = new Map(plan.rows.map((row) => [row.seq, row]));
      let inserted = 0;
      plan.outcomes.forEach((outcome, i) => {
        const submission = w.submissions[i]!;
        if (outcome.kind === 'refused') assert.ok(w.refused.has(i));
        if (outcome.kind !== 'stored') return;
        assert.equal(outcome.placements.length, submission.length);
        outcome.placements.forEach(([id, timestampMs, seq, replayed], j) => {
          if (replayed) return;
          inserted++;
          const row = rowsBySeq.get(seq)!;
          assert.deepEqual([row.id, row.timestampMs, row.userId, row.dataJson, row.keyName], [id, timestampMs, submission[j]!.userId, submission[j]!.dataJson, submission[j]!.keyName]);
        });
      });
      assert.equal(inserted, plan.rows.length, 'every row belongs to a stored submission');
    }));
  });

  it('stores an Idempotency-Key once: a retry with the same event replays it, one with another event is refused', () => {
    fc.assert(fc.property(world, (w) => {
      const plan = planRefusing(w);
      // The model: what each (key name, key) holds after the records within the window and each accepted submission.
      const held = new Map<string, { request: Buffer; seq: number }>();
      for (const record of w.start.records) {
        if (record.createdMs > NOW - IDEMPOTENCY_WINDOW_MS) held.set(`${record.keyName}\n${record.idempotencyKey}`, { request: record.request, seq: record.seq });
      }
      plan.outcomes.forEach((outcome, i) => {
        const submission = w.submissions[i]!;
        const mine = new Map(held);
        let conflict = false;
        submission.forEach((e, j) => {
          if (e.idempotencyKey === undefined) return;
          const key = `${e.keyName}\n${e.idempotencyKey}`;
          const request = idempotencyRequestDigest(e);
          const earlier = mine.get(key);
          if (earlier !== undefined && !earlier.request.equals(request)) conflict = true;
          if (conflict || outcome.kind !== 'stored') return;
          const [, , seq, replayed] = outcome.placements[j]!;
          assert.equal(replayed, earlier !== undefined);
          if (earlier !== undefined) assert.equal(seq, earlier.seq);
          else mine.set(key, { request, seq });
        });
        if (conflict) assert.deepEqual(outcome, { kind: 'conflict' });
        else if (outcome.kind === 'stored') for (const [key, value] of mine) held.set(key, value);
      });
      // What is recorded is exactly the first stored event of each key, replacing nothing still held.
      assert.deepEqual(new Set(plan.records.map((record) => `${record.keyName}\n${record.idempotencyKey}`)).size, plan.records.length);
      for (const record of plan.records) assert.equal(held.get(`${record.keyName}\n${record.idempotencyKey}`)?.seq, record.seq);
    }));
  });

  it('gives each row its leaf, under a salt of its own, and grows the tree by the rows accepted alone', () => {
    fc.assert(fc.property(world, (generated) => {
      const plan = planRefusing(generated);
      let tree = generated.start.tree;
      for (const row of plan.rows) {
        assert.deepEqual(row.leafHash, leafHash(eventLeaf(row, row.salt)), 'the leaf commits to the row as stored');
        const appended = appendLeaf(tree, row.leafHash);
        assert.deepEqual(row.nodes, Buffer.concat(appended.completed), 'the row keeps the subtrees its leaf completes');
        tree = appended.frontier;
      }
      assert.deepEqual(plan.tree, tree);
      assert.equal(new Set(plan.rows.map((row) => row.salt.toString('hex'))).size, plan.rows.length, 'no two rows share a salt');
    }));
  });

  it('refuses to plan over a tree that is not as large as the log', () => {
    assert.throws(() => startCommitPlan(start({ head: headAt(3, NOW), tree: treeOf(2) })), /the Merkle tree holds 2 leaves, but the log 3 events/);
  });

  it('decides for every other submission as if a refused one had never been sent', () => {
    fc.assert(fc.property(world, (w) => {
      const withRefusals = planRefusing(w);
      const sent = (_: unknown, i: number): boolean => withRefusals.outcomes[i]!.kind !== 'refused';
      const without = planCommit(w.start, w.submissions.filter(sent));
      assert.deepEqual(decisions({ ...withRefusals, outcomes: withRefusals.outcomes.filter(sent) }), decisions(without));
    }));
  });
});
