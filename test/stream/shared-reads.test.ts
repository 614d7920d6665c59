import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSharedReads } from '../../src/stream/shared-reads.js';

describe('shared reads', () => {
  const at = (seq: number) => ({ timestampMs: 1000 + seq, seq });

  it('serves what one stream read to another with the same filters at the same place, for a second', () => {
    let now = 0;
    const shared = createSharedReads(() => now);
    shared.set('{"f":1}', at(5), { text: 'messages', last: at(9), more: false });
    assert.deepEqual(shared.get('{"f":1}', at(5)), { text: 'messages', last: at(9), more: false, atMs: 0 });
    assert.equal(shared.get('{"f":2}', at(5)), undefined, 'other filters');
    assert.equal(shared.get('{"f":1}', at(6)), undefined, 'another place');
    now = 1001;
    assert.equal(shared.get('{"f":1}', at(5)), undefined, 'a second later it is gone');
  });

  it('keeps no chunk over a megabyte, and drops the oldest to stay within its bounds', () => {
    const shared = createSharedReads(() => 0);
    shared.set('f', at(1), { text: 'x'.repeat(1024 * 1024 + 1), last: at(2), more: false });
    assert.equal(shared.get('f', at(1)), undefined);
    for (let seq = 0; seq < 300; seq++) shared.set('f', at(seq), { text: 'y', last: at(seq + 1), more: false });
    assert.equal(shared.get('f', at(0)), undefined, 'the oldest went past 256 entries');
    assert.notEqual(shared.get('f', at(299)), undefined);
    for (let seq = 0; seq < 9; seq++) shared.set('g', at(seq), { text: 'z'.repeat(1024 * 1024), last: at(seq + 1), more: false });
    assert.equal(shared.get('g', at(0)), undefined, 'the oldest went past 8 MiB');
    assert.notEqual(shared.get('g', at(8)), undefined);
  });
});
