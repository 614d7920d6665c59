import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUuidV7Generator } from '../../src/events/uuid-v7.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createUuidV7Generator', () => {
  it('makes RFC 9562 version 7 ids whose time field is the returned timestamp', () => {
    const next = createUuidV7Generator(() => 1_700_000_000_123);
    const { id, timestampMs } = next();
    assert.match(id, UUID_V7);
    assert.equal(timestampMs, 1_700_000_000_123);
    assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), 1_700_000_000_123);
  });

  it('strictly increases within a millisecond, past counter overflow, and when the clock steps back', () => {
    let clock = 1_000;
    const next = createUuidV7Generator(() => clock);
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (i === 5_000) clock = 500; // the clock steps back
      ids.push(next().id);
    }
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('never lets the time field go backwards with the clock', () => {
    let clock = 2_000;
    const next = createUuidV7Generator(() => clock);
    assert.equal(next().timestampMs, 2_000);
    clock = 1_000;
    assert.equal(next().timestampMs, 2_000);
    clock = 3_000;
    assert.equal(next().timestampMs, 3_000);
  });
});
