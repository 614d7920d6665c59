import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataCommitment, SALT_BYTES } from '../../verifier/leaf.js';
import { chainHash, chainHashOverLeaf, GENESIS_HASH } from '../../src/integrity/chain.js';
import { signCheckpoint } from '../../src/integrity/checkpoint.js';
import { eventLeafHash } from '../../src/integrity/event-leaf.js';
import { PSEUDONYM_PREFIX } from '../../src/retention/pseudonym.js';
import { verifyChain, type ChainRow } from '../../src/integrity/verify-chain.js';

// verify.test.ts runs `npm run verify` on real files; this is its verdict, in process.
const SECRET = Buffer.from('a secret for the verify tests');
const ALTERED = 'its hash does not match: this event was altered, or an event before it was removed or moved';

const idOf = (seq: number): string => `0190a000-0000-7000-8000-${String(seq).padStart(12, '0')}`;

/** Rows `from`..`to` (seqs), chained from `previous`, as a store writes them. */
function chain(from: number, to: number, previous: Buffer = GENESIS_HASH): ChainRow[] {
  const rows: ChainRow[] = [];
  for (let seq = from; seq <= to; seq++) {
    const fields = { id: idOf(seq), timestampMs: 1_720_000_000_000 + seq, userId: `u${seq % 2}`, eventType: 't', dataJson: `{"seq":${seq}}`, keyName: seq % 3 === 0 ? null : 'svc' };
    previous = chainHash(SECRET, previous, fields);
    rows.push({ ...fields, seq, hash: previous });
  }
  return rows;
}

/** Events from before the chain began: no hash. */
const unchained = (count: number): ChainRow[] =>
  Array.from({ length: count }, (_, i) => ({ id: idOf(i + 1), timestampMs: 1_600_000_000_000 + i, userId: 'old', eventType: 't', dataJson: '{}', keyName: null, seq: i + 1, hash: null }));

const headOf = (rows: ChainRow[], count = rows.length) => ({ eventCount: count, lastId: rows[count - 1]!.id, headHash: rows[count - 1]!.hash!.toString('hex') });

async function* slowly(rows: ChainRow[]): AsyncIterable<ChainRow> {
  for (const row of rows) yield await Promise.resolve(row);
}

describe('verifyChain', () => {
  it('finds an empty log and an intact one intact, read from an array or as a store streams it', async () => {
    assert.deepEqual(await verifyChain([], SECRET), { ok: true, chained: 0, unchained: 0 });
    assert.deepEqual(await verifyChain(chain(1, 5), SECRET), { ok: true, chained: 5, unchained: 0 });
    assert.deepEqual(await verifyChain(slowly(chain(1, 5)), SECRET), { ok: true, chained: 5, unchained: 0 });
  });

  it('counts the events from before the chain began as not covered, and checks the chain that begins after them', async () => {
    const rows = [...unchained(2), ...chain(3, 6)];
    assert.deepEqual(await verifyChain(rows, SECRET), { ok: true, chained: 4, unchained: 2 });
  });

  it('names the first event without a hash once the chain has begun, and stops there', async () => {
    const rows = chain(1, 5);
    rows[2] = { ...rows[2]!, hash: null };
    assert.deepEqual(await verifyChain(rows, SECRET), {
      ok: false, chained: 2, unchained: 0,
      broken: { seq: 3, id: idOf(3), reason: 'it has no chain hash, yet the chain began before it' },
    });
  });

  it('names the first event whose hash its content and predecessor do not give, and stops there', async () => {
    const edited = chain(1, 5);
    edited[1] = { ...edited[1]!, dataJson: '{"seq":99}' };
    assert.deepEqual(await verifyChain(edited, SECRET), { ok: false, chained: 1, unchained: 0, broken: { seq: 2, id: idOf(2), reason: ALTERED } });

    const removed = chain(1, 5).filter((row) => row.seq !== 3);
    assert.deepEqual(await verifyChain(removed, SECRET), { ok: false, chained: 2, unchained: 0, broken: { seq: 4, id: idOf(4), reason: ALTERED } });

    assert.deepEqual(await verifyChain(chain(1, 3), Buffer.from('another secret')), { ok: false, chained: 0, unchained: 0, broken: { seq: 1, id: idOf(1), reason: ALTERED } });
  });

  it('calls a stored hash of the wrong length altered, rather than failing to compare it', async () => {
    for (const hash of [Buffer.alloc(0), Buffer.alloc(31), Buffer.alloc(33)]) {
      const rows = chain(1, 3);
      rows[1] = { ...rows[1]!, hash };
      assert.deepEqual(await verifyChain(rows, SECRET), { ok: false, chained: 1, unchained: 0, broken: { seq: 2, id: idOf(2), reason: ALTERED } }, `${hash.length} bytes`);
    }
  });
});

describe('verifyChain with a checkpoint', () => {
  const createdAt = '2024-07-01T12:00:00.000Z';

  it('proves every event the checkpoint covers present and unchanged, the last one or one amid the log', async () => {
    const rows = chain(1, 6);
    for (const count of [6, 4]) {
      assert.deepEqual(await verifyChain(rows, SECRET, signCheckpoint(SECRET, headOf(rows, count), createdAt)), {
        ok: true, chained: 6, unchained: 0, checkpoint: { ok: true, detail: `all ${count} events it covers are present and unchanged` },
      });
    }
    const empty = signCheckpoint(SECRET, { eventCount: 0, lastId: null, headHash: GENESIS_HASH.toString('hex') }, createdAt);
    assert.deepEqual(await verifyChain(rows, SECRET, empty), { ok: true, chained: 6, unchained: 0, checkpoint: { ok: true, detail: 'all 0 events it covers are present and unchanged' } });
  });

  it('refuses a checkpoint whose signature is not valid without reading the log', async () => {
    const rows = chain(1, 3);
    const forged = { ...signCheckpoint(SECRET, headOf(rows), createdAt), eventCount: 2 };
    async function* untouched(): AsyncIterable<ChainRow> {
      throw new Error('the log was read');
    }
    const refused = { ok: false, chained: 0, unchained: 0, checkpoint: { ok: false, detail: 'its signature is not valid: it was edited, or made with another secret' } };
    assert.deepEqual(await verifyChain(untouched(), SECRET, forged), refused);
    assert.deepEqual(await verifyChain(untouched(), Buffer.from('another secret'), signCheckpoint(SECRET, headOf(rows), createdAt)), refused);
  });

  it('says the events a checkpoint covered were removed when its last event is gone', async () => {
    const rows = chain(1, 6);
    const checkpoint = signCheckpoint(SECRET, headOf(rows), createdAt);
    assert.deepEqual(await verifyChain(rows.slice(0, 4), SECRET, checkpoint), {
      ok: false, chained: 4, unchained: 0,
      checkpoint: { ok: false, detail: `its last event ${idOf(6)} is gone: events it covered were removed (the log was truncated or rewritten)` },
    });
    // A checkpoint of an empty log that counts events cannot be covered by any log.
    const impossible = signCheckpoint(SECRET, { eventCount: 1, lastId: null, headHash: GENESIS_HASH.toString('hex') }, createdAt);
    assert.equal((await verifyChain(rows, SECRET, impossible)).checkpoint?.ok, false);
  });

  it('says the log was rewritten when the checkpoint\'s last event is now at another place, or has another hash', async () => {
    // Rebuilt by someone holding the secret: the chain is intact, but not the one the checkpoint signed.
    const rows = chain(1, 6);
    const moved = signCheckpoint(SECRET, { ...headOf(rows, 4), eventCount: 5 }, createdAt);
    assert.deepEqual(await verifyChain(rows, SECRET, moved), {
      ok: false, chained: 6, unchained: 0,
      checkpoint: { ok: false, detail: 'its last event is now number 4, not 5, or its hash differs: events it covered were removed or rewritten' },
    });
    const rehashed = signCheckpoint(SECRET, { ...headOf(rows, 4), headHash: 'ab'.repeat(32) }, createdAt);
    assert.deepEqual(await verifyChain(rows, SECRET, rehashed), {
      ok: false, chained: 6, unchained: 0,
      checkpoint: { ok: false, detail: 'its last event is now number 4, not 4, or its hash differs: events it covered were removed or rewritten' },
    });
  });

  it('gives no checkpoint verdict when the chain itself is broken', async () => {
    const rows = chain(1, 4);
    const checkpoint = signCheckpoint(SECRET, headOf(rows), createdAt);
    rows[3] = { ...rows[3]!, userId: 'someone else' };
    assert.deepEqual(await verifyChain(rows, SECRET, checkpoint), { ok: false, chained: 3, unchained: 0, broken: { seq: 4, id: idOf(4), reason: ALTERED } });
  });
});

describe('verifyChain over links taken over leaves', () => {
  /** Rows `from`..`to`, each linked over its leaf (as the planner writes them), with their leaf rows. */
  function chainOverLeaves(from: number, to: number, previous: Buffer = GENESIS_HASH): ChainRow[] {
    const rows: ChainRow[] = [];
    for (let seq = from; seq <= to; seq++) {
      const fields = { id: idOf(seq), timestampMs: 1_720_000_000_000 + seq, userId: `u${seq % 2}`, eventType: 't', dataJson: `{"seq":${seq}}`, keyName: 'svc' };
      const salt = Buffer.alloc(SALT_BYTES, seq);
      const leaf = eventLeafHash(fields, salt);
      previous = chainHashOverLeaf(SECRET, previous, leaf);
      rows.push({ ...fields, seq, hash: previous, removedBy: null, removal: null, linkedLeaf: { salt, dataSha256: null, hash: leaf } });
    }
    return rows;
  }

  /** Row `seq`'s payload removed as retention or an erasure of its user leaves it. */
  function removed(row: ChainRow, removal: 'retention' | 'erasure'): ChainRow {
    const commitment = dataCommitment(row.linkedLeaf!.salt!, row.dataJson);
    return {
      ...row, dataJson: 'null', removedBy: idOf(900), removal,
      ...(removal === 'erasure' ? { userId: `${PSEUDONYM_PREFIX}x` } : {}),
      linkedLeaf: { salt: null, dataSha256: removal === 'erasure' ? null : commitment, hash: row.linkedLeaf!.hash },
    };
  }

  it('checks the links over canonical forms up to the upgrade and the links over leaves after it', async () => {
    const before = chain(1, 3);
    const rows = [...before, ...chainOverLeaves(4, 8, before[2]!.hash!)];
    assert.deepEqual(await verifyChain(rows, SECRET), { ok: true, chained: 8, unchained: 0 });
    assert.deepEqual(await verifyChain(rows, SECRET, signCheckpoint(SECRET, headOf(rows), '2024-07-01T12:00:00.000Z')), { ok: true, chained: 8, unchained: 0, checkpoint: { ok: true, detail: 'all 8 events it covers are present and unchanged' } });
  });

  it('finds edited data, an edited salt and a missing leaf row', async () => {
    const edited = chainOverLeaves(1, 4);
    edited[1] = { ...edited[1]!, dataJson: '{"seq":99}' };
    assert.deepEqual((await verifyChain(edited, SECRET)).broken, { seq: 2, id: idOf(2), reason: ALTERED });

    const salted = chainOverLeaves(1, 4);
    salted[2] = { ...salted[2]!, linkedLeaf: { ...salted[2]!.linkedLeaf!, salt: Buffer.alloc(SALT_BYTES, 0xee) } };
    assert.deepEqual((await verifyChain(salted, SECRET)).broken, { seq: 3, id: idOf(3), reason: ALTERED });

    const leafless = chainOverLeaves(1, 4);
    leafless[0] = { ...leafless[0]!, linkedLeaf: null };
    assert.deepEqual((await verifyChain(leafless, SECRET)).broken, { seq: 1, id: idOf(1), reason: ALTERED });
  });

  it('checks the link of an expired event through the commitment kept, and of an erased one through its stored leaf', async () => {
    const rows = chainOverLeaves(1, 5);
    rows[1] = removed(rows[1]!, 'retention');
    rows[3] = removed(rows[3]!, 'erasure');
    assert.deepEqual(await verifyChain(rows, SECRET), { ok: true, chained: 5, unchained: 0 });

    const forged = [...rows];
    forged[1] = { ...rows[1]!, linkedLeaf: { ...rows[1]!.linkedLeaf!, dataSha256: Buffer.alloc(32, 1) } };
    assert.deepEqual((await verifyChain(forged, SECRET)).broken, { seq: 2, id: idOf(2), reason: ALTERED }, 'a commitment that is not the one linked');
    const renamed = [...rows];
    renamed[1] = { ...rows[1]!, userId: 'someone else' };
    assert.deepEqual((await verifyChain(renamed, SECRET)).broken, { seq: 2, id: idOf(2), reason: ALTERED }, 'an expired event\'s user is still covered');
    const releafed = [...rows];
    releafed[3] = { ...rows[3]!, linkedLeaf: { ...rows[3]!.linkedLeaf!, hash: Buffer.alloc(32, 2) } };
    assert.deepEqual((await verifyChain(releafed, SECRET)).broken, { seq: 4, id: idOf(4), reason: ALTERED }, 'an erased event\'s leaf is the one linked');
    const unsalted = chainOverLeaves(1, 2);
    unsalted[0] = { ...unsalted[0]!, linkedLeaf: { salt: null, dataSha256: null, hash: unsalted[0]!.linkedLeaf!.hash } };
    assert.deepEqual((await verifyChain(unsalted, SECRET)).broken, { seq: 1, id: idOf(1), reason: ALTERED }, 'an event still holding its data needs its salt');
  });
});
