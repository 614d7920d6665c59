/**
 * An event's inclusion proof once its payload is gone: the tree does not change, so a proof and a
 * checkpoint signed before the removal stay valid, and the offline verifier (verifier/, npm run
 * verify-event) accepts the event as the log serves it now, expired or erased, against a checkpoint
 * signed before and one signed after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkEvent } from '../../verifier/check-event.js';
import { PSEUDONYM_PREFIX as VERIFIER_PSEUDONYM_PREFIX } from '../../verifier/pseudonym.js';
import { PSEUDONYM_PREFIX } from '../../src/retention/pseudonym.js';
import { Invalid } from '../../verifier/verdict.js';
import { createRemovalLock } from '../../src/retention/removal-lock.js';
import { startRetentionJob } from '../../src/retention/retention-job.js';
import { parseRetentionPolicy } from '../../src/retention/retention-policy.js';
import { apiCalls } from '../helpers/api-calls.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

describe(`proofs after a removal (${TEST_BACKEND})`, () => {
  let server: TestServer;
  let now = START;
  const { call, post } = apiCalls(() => server);
  const text = async (path: string): Promise<string> => {
    const response = await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(response.status, 200, path);
    return response.text();
  };
  const ids: Record<string, string> = {};
  let key = '';
  /** What was saved before the removal: the checkpoint, and the expired event with its proof then. */
  const saved: Record<string, string> = {};

  before(async () => {
    const lock = createRemovalLock();
    server = await startTestServer({ storeOptions: { clock: () => now, checkpointIntervalMs: 60_000 }, removalLock: lock });
    ids.expired = await post({ user_id: 'u1', event_type: 'login', data: { ip: '192.0.2.1' } });
    ids.erased = await post({ user_id: 'ada', event_type: 'note', data: { pin: '4821' } });
    ids.kept = await post({ user_id: 'u2', event_type: 'note', data: { n: 1 } });
    saved.proof = await text(`/events/${ids.expired}/proof`);
    const size = (JSON.parse(saved.proof) as { tree_size: number }).tree_size;
    saved.checkpoint = await text(`/checkpoint?size=${size}`);
    saved.event = await text(`/events/${ids.expired}`);
    key = await text('/checkpoint/key');

    now = START + 10 * DAY;
    const job = startRetentionJob({ store: server.store, policy: parseRetentionPolicy('login=1d')!.policy!, lock, intervalMs: 3_600_000, clock: () => now });
    assert.equal((await job.runNow()).removed, 1);
    await job.stop();
    assert.equal((await call('POST', '/erasures', { user_id: 'ada' })).status, 200);
  });
  after(() => server.close());

  const verifyNow = async (id: string, size?: number): Promise<string> => {
    const proof = await text(`/events/${id}/proof${size === undefined ? '' : `?size=${size}`}`);
    const treeSize = (JSON.parse(proof) as { tree_size: number }).tree_size;
    return checkEvent({ event: await text(`/events/${id}`), proof, checkpoint: await text(`/checkpoint?size=${treeSize}`), key });
  };
  const sizeOf = (proof: string) => (JSON.parse(proof) as { tree_size: number }).tree_size;

  it('keeps the proof and the checkpoint saved before the removal valid', () => {
    assert.match(checkEvent({ event: saved.event!, proof: saved.proof!, checkpoint: saved.checkpoint!, key }), /^VALID: /);
  });

  it('proves an expired event, as served now, in the tree signed before the removal and in the latest', async () => {
    const proof = JSON.parse(await text(`/events/${ids.expired}/proof`)) as Record<string, unknown>;
    assert.equal(proof.data_salt, null);
    assert.equal(typeof proof.leaf, 'string');
    assert.match(await verifyNow(ids.expired!, sizeOf(saved.proof!)), /^VALID \(expired\): event .* is leaf 0 of the tree of 3 events .*; its id, timestamp, user_id and event_type are as logged; its payload was removed by retention at /);
    assert.match(await verifyNow(ids.expired!), /^VALID \(expired\): /);
  });

  it('proves an event erased with its user by its leaf\'s hash alone, and says what can no longer be checked', async () => {
    const proof = JSON.parse(await text(`/events/${ids.erased}/proof`)) as Record<string, unknown>;
    assert.deepEqual([proof.leaf, proof.data_salt, typeof proof.leaf_hash], [null, null, 'string']);
    assert.match(await verifyNow(ids.erased!, sizeOf(saved.proof!)), /^VALID \(erased\): event .* is leaf 1 of the tree of 3 events .*only its leaf's place in the tree is proven/);
  });

  it('says the removal in the proof as on the event, and that verify-event does not check the record', async () => {
    for (const id of [ids.expired!, ids.erased!]) {
      const proof = JSON.parse(await text(`/events/${id}/proof`)) as { removed?: unknown };
      const event = JSON.parse(await text(`/events/${id}`)) as { removed: { reason: string; at: string; by: string } };
      assert.deepEqual(proof.removed, event.removed);
      assert.ok((await verifyNow(id)).endsWith(` The record itself is not checked here: verify the event ${event.removed.by} too, or run npm run verify on the database.`));
    }
    const kept = JSON.parse(await text(`/events/${ids.kept}/proof`)) as Record<string, unknown>;
    assert.equal(Object.hasOwn(kept, 'removed'), false, 'a whole event\'s proof is as before');
  });

  it('refuses an erased event given a name for its user, and an event and a proof that tell different removals', async () => {
    assert.equal(VERIFIER_PSEUDONYM_PREFIX, PSEUDONYM_PREFIX, 'the verifier knows the prefix the service gives');
    for (const id of [ids.erased!, ids.expired!]) {
      const event = JSON.parse(await text(`/events/${id}`)) as Record<string, unknown>;
      const proof = await text(`/events/${id}/proof`);
      const checkpoint = await text(`/checkpoint?size=${sizeOf(proof)}`);
      const refused = (inputs: { event: string; proof: string }, reason: RegExp) =>
        assert.throws(() => checkEvent({ ...inputs, checkpoint, key }), (error: unknown) => error instanceof Invalid && reason.test(error.message));
      const otherRecord = JSON.stringify({ ...JSON.parse(proof) as object, removed: { ...event.removed as object, by: ids.kept } });
      refused({ event: JSON.stringify(event), proof: otherRecord }, /^the event and the log's proof tell different removals/);
      if (id === ids.erased) refused({ event: JSON.stringify({ ...event, user_id: 'ada' }), proof }, /is not a pseudonym \(erased-…\)$/);
    }
  });

  it('refuses an expired event whose fields were changed, and a removal claimed for an event that has its data', async () => {
    const event = JSON.parse(await text(`/events/${ids.expired}`)) as Record<string, unknown>;
    const proof = await text(`/events/${ids.expired}/proof`);
    const checkpoint = await text(`/checkpoint?size=${sizeOf(proof)}`);
    const invalid = (inputs: { event: string; proof: string }) =>
      assert.throws(() => checkEvent({ ...inputs, checkpoint, key }), (error: unknown) => error instanceof Invalid);
    invalid({ event: JSON.stringify({ ...event, user_id: 'someone-else' }), proof });
    invalid({ event: JSON.stringify({ ...event, timestamp: new Date(START + 1).toISOString() }), proof });
    // The kept event, said to be removed, against its own proof (which has its salt).
    const kept = JSON.parse(await text(`/events/${ids.kept}`)) as Record<string, unknown>;
    invalid({ event: JSON.stringify({ ...kept, data: null, removed: event.removed }), proof: await text(`/events/${ids.kept}/proof?size=${sizeOf(proof)}`) });
  });
});
