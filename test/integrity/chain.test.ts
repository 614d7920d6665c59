import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalEvent, chainHash, chainHashOverLeaf, GENESIS_HASH, type ChainedFields } from '../../src/integrity/chain.js';
import { hasValidSignature, signCheckpoint, type Checkpoint } from '../../src/integrity/checkpoint.js';

const SECRET = Buffer.from('a secret for the chain tests');

/** HMAC-SHA256(secret, each part in turn), written out here as docs/design.md states the formula. */
const hmac = (secret: Buffer, ...parts: Array<Buffer | string>): Buffer => {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

const EVENT: ChainedFields = {
  id: '0190a000-0000-7000-8000-000000000001',
  timestampMs: 1_720_000_000_000,
  userId: 'user "1", the first',
  eventType: 'login',
  dataJson: '{"ip":"192.0.2.1","n":1.50}',
  keyName: 'billing',
};

describe('the chain\'s canonical form and link', () => {
  // An outside verifier, or this service after an upgrade, recomputes links from this form: any
  // change to it makes every event already stored look tampered with.
  it('is the JSON array [id, timestamp ms, user_id, event_type, data text, key name], linked as HMAC-SHA256(secret, previous hash ‖ that form)', () => {
    const form = '["0190a000-0000-7000-8000-000000000001",1720000000000,"user \\"1\\", the first","login","{\\"ip\\":\\"192.0.2.1\\",\\"n\\":1.50}","billing"]';
    assert.equal(canonicalEvent(EVENT).toString('utf8'), form);
    assert.deepEqual(chainHash(SECRET, GENESIS_HASH, EVENT), hmac(SECRET, Buffer.alloc(32), form));
    const previous = hmac(SECRET, 'an earlier link');
    assert.deepEqual(chainHash(SECRET, previous, EVENT), hmac(SECRET, previous, form));
  });

  it('leaves the key name out for an event recorded before key names were kept, and writes the form as UTF-8', () => {
    const legacy = { ...EVENT, userId: 'zoë 😀', keyName: null };
    const form = '["0190a000-0000-7000-8000-000000000001",1720000000000,"zoë 😀","login","{\\"ip\\":\\"192.0.2.1\\",\\"n\\":1.50}"]';
    assert.deepEqual(canonicalEvent(legacy), Buffer.from(form, 'utf8'));
    assert.deepEqual(chainHash(SECRET, GENESIS_HASH, legacy), hmac(SECRET, Buffer.alloc(32), Buffer.from(form, 'utf8')));
  });

  it('takes a link over a leaf as HMAC-SHA256(secret, previous hash ‖ 0x02 ‖ leaf hash), which no link over a canonical form can be', () => {
    const leaf = createHash('sha256').update('a leaf').digest();
    const previous = hmac(SECRET, 'an earlier link');
    assert.deepEqual(chainHashOverLeaf(SECRET, previous, leaf), hmac(SECRET, previous, Buffer.from([0x02]), leaf));
    assert.deepEqual(chainHashOverLeaf(SECRET, GENESIS_HASH, leaf), hmac(SECRET, Buffer.alloc(32), Buffer.from([0x02]), leaf));
    // A canonical form opens with '[' (0x5b): the two kinds of message never coincide.
    assert.equal(canonicalEvent(EVENT)[0], 0x5b);
  });

  it('starts from a genesis hash of 32 zero bytes', () => {
    assert.deepEqual(GENESIS_HASH, Buffer.alloc(32));
  });
});

describe('the checkpoint signature', () => {
  const head = { eventCount: 3, lastId: '0190a000-0000-7000-8000-000000000003', headHash: 'ab'.repeat(32) };
  const createdAt = '2024-07-01T12:00:00.000Z';

  // A checkpoint saved by an earlier release must still verify after an upgrade.
  it('is HMAC-SHA256(secret, the JSON array ["auditor-checkpoint-v1", event count, last id, head hash, created at]) in hex', () => {
    const signed = signCheckpoint(SECRET, head, createdAt);
    const expected = hmac(SECRET, '["auditor-checkpoint-v1",3,"0190a000-0000-7000-8000-000000000003","' + 'ab'.repeat(32) + '","2024-07-01T12:00:00.000Z"]');
    assert.deepEqual(signed, { ...head, createdAt, signature: expected.toString('hex') });
    const empty = signCheckpoint(SECRET, { eventCount: 0, lastId: null, headHash: '00'.repeat(32) }, createdAt);
    assert.equal(empty.signature, hmac(SECRET, '["auditor-checkpoint-v1",0,null,"' + '00'.repeat(32) + '","2024-07-01T12:00:00.000Z"]').toString('hex'));
  });

  it('is stamped with the time of signing when no time is given', () => {
    const before = Date.now();
    const signed = signCheckpoint(SECRET, head);
    assert.ok(Date.parse(signed.createdAt) >= before && Date.parse(signed.createdAt) <= Date.now(), signed.createdAt);
    assert.equal(new Date(Date.parse(signed.createdAt)).toISOString(), signed.createdAt);
    assert.ok(hasValidSignature(SECRET, signed));
  });

  it('holds only for the secret and each value it signed, and a signature of another length or not hex is refused, never thrown', () => {
    const signed = signCheckpoint(SECRET, head, createdAt);
    assert.equal(hasValidSignature(SECRET, signed), true);
    const altered: Checkpoint[] = [
      { ...signed, eventCount: 4 },
      { ...signed, lastId: '0190a000-0000-7000-8000-000000000004' },
      { ...signed, lastId: null },
      { ...signed, headHash: 'cd'.repeat(32) },
      { ...signed, createdAt: '2024-07-01T12:00:00.001Z' },
      { ...signed, signature: signed.signature.slice(0, 62) },
      { ...signed, signature: `${signed.signature}00` },
      { ...signed, signature: '' },
      { ...signed, signature: 'z'.repeat(64) },
    ];
    for (const checkpoint of altered) assert.equal(hasValidSignature(SECRET, checkpoint), false, JSON.stringify(checkpoint));
    assert.equal(hasValidSignature(Buffer.from('another secret'), signed), false);
  });
});
