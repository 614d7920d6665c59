import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeCsv } from '../../src/encode/csv.js';
import { encodeJsonArray } from '../../src/encode/json-array.js';
import { encodeNdjson } from '../../src/encode/ndjson.js';
import { PIECE_CHARS } from '../../src/encode/text-pieces.js';
import type { StoredEvent } from '../../src/events/event.js';

/** Each format written the plain way, one whole string per event: what the pieces must add up to. */
const reference = {
  json: (events: StoredEvent[]) => `[${events.map(eventJson).join(',')}]`,
  ndjson: (events: StoredEvent[]) => events.map((event) => `${eventJson(event)}\n`).join(''),
  csv: (events: StoredEvent[]) =>
    'id,timestamp,user_id,event_type,data\r\n' +
    events.map((e) => `${e.id},${new Date(e.timestampMs).toISOString()},${cell(e.userId)},${cell(e.eventType)},${cell(e.dataJson)}\r\n`).join(''),
};
function eventJson(e: StoredEvent): string {
  return `{"id":"${e.id}","timestamp":"${new Date(e.timestampMs).toISOString()}","user_id":${JSON.stringify(e.userId)},"event_type":${JSON.stringify(e.eventType)},"data":${e.dataJson}}`;
}
function cell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const encoders = { json: encodeJsonArray, ndjson: encodeNdjson, csv: encodeCsv };

/** What an encoder yields, each piece as text (a piece of bytes decoded, strictly: it must be whole UTF-8). */
async function pieces(encode: (chunks: AsyncIterable<readonly StoredEvent[]>) => AsyncIterable<string | Uint8Array>, chunks: StoredEvent[][]): Promise<string[]> {
  async function* source() {
    yield* chunks;
  }
  const out: string[] = [];
  for await (const piece of encode(source())) out.push(typeof piece === 'string' ? piece : new TextDecoder('utf-8', { fatal: true }).decode(piece));
  return out;
}

function event(i: number, userId: string, eventType: string, dataJson: string): StoredEvent {
  return { id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`, timestampMs: 1_764_000_000_000 + i, seq: i + 1, userId, eventType, dataJson };
}

// Text that tests the edges: quotes, separators, line breaks, formula starts, and astral characters
// (a surrogate pair split between two pieces would reach the wire as two U+FFFD).
const tricky = fc.string({ unit: fc.constantFrom('a', '"', ',', '\r', '\n', '=', '@', '-', '😀', 'é', '\\'), maxLength: 40 });
const hugeString = fc.tuple(fc.constantFrom('"', 'x', '😀', 'a"😀,'), fc.integer({ min: PIECE_CHARS / 4, max: 3 * PIECE_CHARS })).map(([unit, count]) => unit.repeat(Math.ceil(count / unit.length)));
const dataJson = fc.oneof(
  tricky.map((text) => JSON.stringify({ s: text })),
  hugeString.map((text) => JSON.stringify({ s: text })),
  fc.constant('{}'),
);
const events = fc.array(fc.tuple(tricky.filter((t) => t !== ''), tricky.filter((t) => t !== ''), dataJson), { maxLength: 8 })
  .map((rows) => rows.map(([userId, eventType, data], i) => event(i, userId, eventType, data)));

describe('the JSON, NDJSON and CSV encoders', () => {
  it('write exactly what the plain encoding writes, in well-formed pieces of bounded size, however the events are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(events, fc.array(fc.nat(8), { maxLength: 4 }), async (all, cuts) => {
        // Cut the events into chunks at random places (empty chunks included).
        const chunks: StoredEvent[][] = [];
        let start = 0;
        for (const cut of [...cuts].sort((a, b) => a - b)) {
          chunks.push(all.slice(start, Math.max(start, cut)));
          start = Math.max(start, cut);
        }
        chunks.push(all.slice(start));
        for (const [format, encode] of Object.entries(encoders)) {
          const out = await pieces(encode, chunks);
          assert.equal(out.join(''), reference[format as keyof typeof reference](all), format);
          for (const piece of out) {
            assert.ok(piece.length > 0, `${format}: an empty piece`);
            assert.ok(piece.length <= 2 * PIECE_CHARS + 4096, `${format}: a piece of ${piece.length} characters`);
            assert.ok(piece.isWellFormed(), `${format}: a piece splits a surrogate pair`);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('never joins a large event to what was gathered before it: a CSV cell of 64 Ki quotes doubled stays a piece of its own', async () => {
    const gathered = event(0, 'u', 't', JSON.stringify({ s: 'a'.repeat(PIECE_CHARS - 1000) }));
    const quotes = event(1, 'u', 't', JSON.stringify({ s: '"'.repeat(PIECE_CHARS / 2 - 10) }));
    for (const [format, encode] of Object.entries(encoders)) {
      const out = await pieces(encode, [[gathered, quotes]]);
      assert.equal(out.join(''), reference[format as keyof typeof reference]([gathered, quotes]), format);
      for (const piece of out) assert.ok(piece.length <= 2 * PIECE_CHARS + 4096, `${format}: a piece of ${piece.length} characters`);
    }
  });

  it('never copies a large data value whole: a 1 MiB value of double quotes leaves in pieces of at most twice PIECE_CHARS', async () => {
    const value = '"'.repeat(1024 * 1024);
    const big = event(0, '=user', 't', JSON.stringify({ s: value }));
    for (const [format, encode] of Object.entries(encoders)) {
      const out = await pieces(encode, [[big]]);
      assert.ok(out.length >= 16, `${format}: ${out.length} pieces`);
      assert.ok(Math.max(...out.map((piece) => piece.length)) <= 2 * PIECE_CHARS + 1024, format);
      assert.equal(out.join(''), reference[format as keyof typeof reference]([big]), format);
    }
  });

  it('hand on the events of each chunk as soon as it is read, before asking for the next', async () => {
    const [first, second] = [event(0, 'u', 't', '{"n":0}'), event(1, 'u', 't', '{"n":1}')];
    const beforeFirst = { json: '[', ndjson: '', csv: 'id,timestamp,user_id,event_type,data\r\n' };
    const afterFirst = { json: '', ndjson: '\n', csv: '\r\n' };
    for (const [format, encode] of Object.entries(encoders)) {
      const received: string[] = [];
      let receivedBeforeSecond: string | undefined;
      async function* source(): AsyncIterable<StoredEvent[]> {
        yield [first];
        receivedBeforeSecond = received.join('');
        yield [second];
      }
      for await (const piece of encode(source())) received.push(typeof piece === 'string' ? piece : Buffer.from(piece).toString('utf8'));
      const name = format as keyof typeof reference;
      const firstText = format === 'csv' ? reference.csv([first]).slice(beforeFirst.csv.length, -2) : eventJson(first);
      assert.equal(receivedBeforeSecond, beforeFirst[name] + firstText + afterFirst[name], format);
      assert.equal(received.join(''), reference[name]([first, second]), format);
    }
  });

  it('gather the small events of a chunk into pieces of PIECE_CHARS or a little more, not one string per chunk', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => event(i, `user-${i}`, 'page.viewed', `{"path":"/a/b/c","i":${i}}`));
    for (const [format, encode] of Object.entries(encoders)) {
      const out = await pieces(encode, [many]);
      assert.equal(out.join(''), reference[format as keyof typeof reference](many), format);
      assert.ok(out.length >= 5, `${format}: ${out.length} pieces`);
      // Only what is left at the end of the chunk, and the tail, leave short.
      for (const piece of out.slice(0, -2)) assert.ok(piece.length >= PIECE_CHARS, `${format}: a piece of ${piece.length}`);
      for (const piece of out) assert.ok(piece.length < PIECE_CHARS + 256, `${format}: a piece of ${piece.length}`);
    }
  });

  it('never split the first or the last astral character (U+10000, U+10FFFF) between two pieces, whichever half ends a slice', async () => {
    const prefix = '{"s":"';
    for (const astral of ['\u{10000}', '\u{10FFFF}']) {
      // The high surrogate, then the low one, as the last code unit of the first slice.
      for (const before of [PIECE_CHARS - 1, PIECE_CHARS - 2]) {
        const big = event(0, 'u', 't', `${prefix}${'x'.repeat(before - prefix.length)}${astral}${'y'.repeat(100)}"}`);
        for (const [format, encode] of Object.entries(encoders)) {
          const out = await pieces(encode, [[big]]);
          assert.equal(out.join(''), reference[format as keyof typeof reference]([big]), `${format}, U+${astral.codePointAt(0)!.toString(16)} at ${before}`);
          for (const piece of out) {
            assert.ok(piece.isWellFormed(), `${format}: a piece splits U+${astral.codePointAt(0)!.toString(16)} at ${before}`);
            // A slice is at most PIECE_CHARS; CSV then doubles its quotes.
            if (format !== 'csv') assert.ok(piece.length <= PIECE_CHARS, `${format}: a piece of ${piece.length} characters`);
          }
        }
      }
    }
  });

  it('answer an empty result as [], nothing and a header row', async () => {
    assert.deepEqual(await pieces(encodeJsonArray, []), ['[]']);
    assert.deepEqual(await pieces(encodeNdjson, [[]]), []);
    assert.deepEqual(await pieces(encodeCsv, []), ['id,timestamp,user_id,event_type,data\r\n']);
  });
});
