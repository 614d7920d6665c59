import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signCheckpoint } from '../../src/integrity/checkpoint.js';
import { checkpointToJson, parseCheckpointJson } from '../../src/integrity/checkpoint-json.js';

const CHECKPOINT = signCheckpoint(Buffer.from('a secret for the checkpoint tests'), {
  eventCount: 3,
  lastId: '0190a000-0000-7000-8000-000000000003',
  headHash: 'ab'.repeat(32),
}, '2024-07-01T12:00:00.000Z');

describe('the checkpoint as JSON', () => {
  it('is written with the members of the contract, in its order, and read back as it was', () => {
    const text = JSON.stringify(checkpointToJson(CHECKPOINT));
    assert.equal(text, JSON.stringify({
      event_count: 3,
      last_id: '0190a000-0000-7000-8000-000000000003',
      head_hash: 'ab'.repeat(32),
      created_at: '2024-07-01T12:00:00.000Z',
      signature: CHECKPOINT.signature,
    }));
    assert.deepEqual(parseCheckpointJson(text), CHECKPOINT);
    const empty = { ...CHECKPOINT, eventCount: 0, lastId: null };
    assert.deepEqual(parseCheckpointJson(JSON.stringify(checkpointToJson(empty))), empty);
  });

  it('says why a text is not a checkpoint', () => {
    const json = checkpointToJson(CHECKPOINT);
    for (const [text, reason] of [
      ['{"event_count":', /^it is not JSON \(/],
      ['[1]', /^it is not a JSON object$/],
      ['null', /^it is not a JSON object$/],
      ['3', /^it is not a JSON object$/],
      ['"a checkpoint"', /^it is not a JSON object$/],
      [JSON.stringify({ ...json, event_count: '3' }), /^its event_count is not a number$/],
      [JSON.stringify({ ...json, last_id: 7 }), /^its last_id is neither a string nor null$/],
      [JSON.stringify({ ...json, last_id: undefined }), /^its last_id is neither a string nor null$/],
      [JSON.stringify({ ...json, head_hash: null }), /^its head_hash is not a string$/],
      [JSON.stringify({ ...json, created_at: 1 }), /^its created_at is not a string$/],
      [JSON.stringify({ ...json, signature: undefined }), /^its signature is not a string$/],
    ] as const) {
      assert.throws(() => parseCheckpointJson(text), (error: Error) => reason.test(error.message), text);
    }
  });
});
