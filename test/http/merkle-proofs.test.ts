import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseCheckpoint } from '../../verifier/checkpoint.js';
import { dataCommitment, decodeLeaf } from '../../verifier/leaf.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../verifier/merkle.js';
import { parseNote, parseVerifierKey, verifyNoteSignature } from '../../verifier/signed-note.js';
import { appendLeaf, EMPTY_FRONTIER, frontierRoot } from '../../src/integrity/merkle-tree.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

const fromBase64 = (text: string): Buffer => Buffer.from(text, 'base64');

type Proof = { leaf_index: number; tree_size: number; leaf: string; data_salt: string; inclusion_path: string[] };

describe('the Merkle tree over HTTP: checkpoints, inclusion and consistency proofs', () => {
  let server: TestServer;
  const ids: string[] = [];
  const call = (path: string, key = TEST_API_KEY) => fetch(`${server.url}${path}`, { headers: { 'X-API-Key': key } });
  const text = async (path: string): Promise<string> => {
    const response = await call(path);
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
    return response.text();
  };
  const json = async <T>(path: string): Promise<T> => {
    const response = await call(path);
    assert.equal(response.status, 200, `${path}: ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as T;
  };

  before(async () => {
    server = await startTestServer({ storeOptions: { checkpointIntervalMs: 60_000 } });
    for (let n = 0; n < 13; n++) {
      const response = await server.post({ user_id: `user-${n % 3}`, event_type: 'login', data: { n, note: 'ünïcode "quoted"', nested: { list: [1, 2.50, n] } } });
      assert.equal(response.status, 201);
      ids.push(((await response.json()) as { id: string }).id);
    }
  });
  after(() => server.close());

  it('proves every event in the signed tree, from the event as GET /events/{id} serves it', async () => {
    const key = parseVerifierKey(await text('/checkpoint/key'));
    for (const [index, id] of ids.entries()) {
      const proof = await json<Proof>(`/events/${id}/proof`);
      // The checkpoint the proof is against, as anyone would fetch it by size.
      const note = parseNote(await text(`/checkpoint?size=${proof.tree_size}`));
      verifyNoteSignature(note, key);
      const checkpoint = parseCheckpoint(note.text);
      assert.equal(checkpoint.size, proof.tree_size);
      assert.equal(proof.leaf_index, index, 'the leaf index is the event\'s place in the log');
      const served = await (await call(`/events/${id}`)).text();
      const event = JSON.parse(served) as { id: string; timestamp: string; user_id: string; event_type: string };
      const leaf = decodeLeaf(fromBase64(proof.leaf));
      assert.deepEqual(
        { id: leaf.id, timestamp: new Date(leaf.timestampMs).toISOString(), user_id: leaf.userId, event_type: leaf.eventType, key_name: leaf.keyName },
        { id: event.id, timestamp: event.timestamp, user_id: event.user_id, event_type: event.event_type, key_name: 'AUDITOR_API_KEY' },
      );
      const dataText = served.slice(served.indexOf('"data":') + '"data":'.length, -1);
      assert.deepEqual(dataCommitment(fromBase64(proof.data_salt), dataText), leaf.dataSha256, 'the leaf commits to the data as served');
      verifyInclusion(proof.leaf_index, proof.tree_size, leafHash(fromBase64(proof.leaf)), proof.inclusion_path.map(fromBase64), checkpoint.rootHash);
    }
  });

  it('signs a checkpoint covering a new event at once when a proof asks for it, and keeps the older ones', async () => {
    const before = parseCheckpoint(parseNote(await text('/checkpoint')).text);
    const response = await server.post({ user_id: 'late', event_type: 'login' });
    const { id } = (await response.json()) as { id: string };
    const proof = await json<Proof>(`/events/${id}/proof`);
    assert.equal(proof.tree_size, before.size + 1);
    const latest = parseCheckpoint(parseNote(await text('/checkpoint')).text);
    assert.equal(latest.size, before.size + 1);
    const old = parseCheckpoint(parseNote(await text(`/checkpoint?size=${before.size}`)).text);
    assert.deepEqual(old, before, 'the older checkpoint is kept as it was signed');
    const consistency = await json<{ from: number; to: number; consistency_path: string[] }>(`/proofs/consistency?from=${before.size}&to=${latest.size}`);
    assert.deepEqual([consistency.from, consistency.to], [before.size, latest.size]);
    verifyConsistency(before.size, latest.size, before.rootHash, latest.rootHash, consistency.consistency_path.map(fromBase64));
  });

  it('proves each event in every tree that holds it, and every tree a prefix of the latest, against roots rebuilt from the leaves', async () => {
    const latest = parseCheckpoint(parseNote(await text('/checkpoint')).text);
    const everyId = [...ids];
    // Events posted by the other tests are in the tree too: the first proof of each leaf index.
    const all = await json<Array<{ id: string }>>('/events?user_id=late');
    everyId.push(...all.map((event) => event.id));
    assert.equal(everyId.length, latest.size);
    const leaves = await Promise.all(everyId.map(async (id) => leafHash(fromBase64((await json<Proof>(`/events/${id}/proof`)).leaf))));
    // Each size's root, rebuilt here from the leaves alone.
    const roots: Buffer[] = [];
    let tree = EMPTY_FRONTIER;
    for (const leaf of leaves) {
      tree = appendLeaf(tree, leaf).frontier;
      roots.push(frontierRoot(tree));
    }
    assert.deepEqual(roots[latest.size - 1], latest.rootHash, 'the signed root is the root of the leaves');
    for (let size = 1; size <= latest.size; size++) {
      for (let index = 0; index < size; index++) {
        const proof = await json<Proof>(`/events/${everyId[index]}/proof?size=${size}`);
        verifyInclusion(index, size, leaves[index]!, proof.inclusion_path.map(fromBase64), roots[size - 1]!);
      }
      const consistency = await json<{ consistency_path: string[] }>(`/proofs/consistency?from=${size}&to=${latest.size}`);
      verifyConsistency(size, latest.size, roots[size - 1]!, latest.rootHash, consistency.consistency_path.map(fromBase64));
    }
  });

  it('answers 400 naming the tree\'s size for sizes it cannot prove, 404 for an unknown event or checkpoint', async () => {
    const size = parseCheckpoint(parseNote(await text('/checkpoint')).text).size;
    const cases: Array<[string, number, RegExp]> = [
      [`/events/${ids[5]}/proof?size=${size + 1}`, 400, new RegExp(`size ${size + 1} is beyond the tree, which holds ${size} events`)],
      [`/events/${ids[5]}/proof?size=5`, 400, /the event is leaf 5, not in the tree of 5/],
      [`/events/${ids[5]}/proof?size=-1`, 400, /size must be a tree size/],
      [`/events/${ids[5]}/proof?size=1e3`, 400, /size must be a tree size/],
      [`/proofs/consistency?from=3&to=${size + 1}`, 400, new RegExp(`to=${size + 1} is beyond the tree, which holds ${size} events`)],
      ['/proofs/consistency?from=4&to=3', 400, new RegExp(`from=4 is larger than to=3 \\(the tree holds ${size} events\\)`)],
      ['/proofs/consistency?from=4', 400, /from and to are required/],
      ['/events/0190a000-0000-7000-8000-000000000000/proof', 404, /No event with id/],
      ['/events/not-an-id/proof', 404, /No event with id/],
      [`/checkpoint?size=${size + 100}`, 404, new RegExp(`No checkpoint was signed at size ${size + 100}; the latest is of size ${size}`)],
    ];
    for (const [path, status, message] of cases) {
      const response = await call(path);
      assert.equal(response.status, status, path);
      assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8', path);
      assert.match(((await response.json()) as { message: string }).message, message, path);
    }
    // A row put in by hand before the first event (no trigger stops an INSERT) has no leaf: no proof.
    const forged = '0190a000-0000-7000-8000-0000000000f0';
    await server.database.execute(`INSERT INTO events (seq, id, ts, user_id, event_type, data) VALUES (0, '${forged}', 0, 'user-0', 'login', '{}')`);
    const refused = await call(`/events/${forged}/proof`);
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), { message: 'the event (seq 0) is not a leaf of the log\'s tree: run npm run verify' });
    const same = await json<{ consistency_path: string[] }>(`/proofs/consistency?from=${size}&to=${size}`);
    assert.deepEqual(same.consistency_path, [], 'a tree is its own prefix, with no hash to show');
    const empty = await json<{ consistency_path: string[] }>(`/proofs/consistency?from=0&to=${size}`);
    assert.deepEqual(empty.consistency_path, []);
  });
});
