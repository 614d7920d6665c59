import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCursor, encodeCursor } from '../../src/events/cursor.js';
import { parseInstant } from '../../src/events/parse-instant.js';

describe('parseInstant', () => {
  it('reads instants with a zone, and a date alone as midnight UTC', () => {
    assert.equal(parseInstant('2026-11-26T21:04:05Z'), Date.UTC(2026, 10, 26, 21, 4, 5));
    assert.equal(parseInstant('2026-11-26T21:04:05.123Z'), Date.UTC(2026, 10, 26, 21, 4, 5, 123));
    assert.equal(parseInstant('2026-11-26T21:04:05.123456789z'), Date.UTC(2026, 10, 26, 21, 4, 5, 123));
    assert.equal(parseInstant('2026-11-26T22:04+01:00'), Date.UTC(2026, 10, 26, 21, 4));
    assert.equal(parseInstant('2026-11-26T16:04:05-05:00'), Date.UTC(2026, 10, 26, 21, 4, 5));
    assert.equal(parseInstant('2026-11-26'), Date.UTC(2026, 10, 26));
  });

  it('refuses what is not an instant', () => {
    for (const text of ['', 'now', '2026-11-26T21:04:05', '2026-13-01', '2026-02-30', '2026-11-26T24:00Z',
      '2026-11-26T21:60Z', '2026-11-26 21:04:05Z', '26/11/2026', '0050-01-01', '2026-11-26T21:04:05+25:00', '1700000000']) {
      assert.equal(parseInstant(text), undefined, text);
    }
  });
});

describe('page cursors', () => {
  it('round-trip a position and refuse anything else', () => {
    const position = { timestampMs: 1_764_190_000_123, seq: 987_654 };
    assert.deepEqual(decodeCursor(encodeCursor(position)), position);
    for (const text of ['', 'abc', '!!!!', Buffer.from('v2:1:2').toString('base64url'), Buffer.from('v1:1').toString('base64url'), 'x'.repeat(100)]) {
      assert.equal(decodeCursor(text), undefined, text);
    }
  });
});
