import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { encodeCsv } from '../../src/encode/csv.js';
import { PIECE_CHARS } from '../../src/encode/text-pieces.js';
import type { StoredEvent } from '../../src/events/event.js';

/** What a spreadsheet runs as a formula when a cell starts with it (OWASP's CSV injection list). */
const FORMULA_STARTS = ['=', '+', '-', '@', '\t', '\r'] as const;

async function csvRows(events: StoredEvent[]): Promise<string[][]> {
  async function* chunks() {
    yield events;
  }
  let text = '';
  for await (const piece of encodeCsv(chunks())) text += typeof piece === 'string' ? piece : Buffer.from(piece).toString('utf8');
  assert.ok(text.startsWith('id,timestamp,user_id,event_type,data\r\n'));
  return parseCsv(text) as string[][];
}

function event(i: number, userId: string, eventType: string, dataJson: string): StoredEvent {
  return { id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`, timestampMs: 1_764_000_000_000 + i, seq: i + 1, userId, eventType, dataJson };
}
const row = (e: StoredEvent, userId: string, eventType: string, data: string): string[] =>
  [e.id, new Date(e.timestampMs).toISOString(), userId, eventType, data];

describe('CSV formula neutralisation', () => {
  for (const start of FORMULA_STARTS) {
    const shown = JSON.stringify(start);
    it(`prefixes an apostrophe to a user_id, event_type and data cell that start with ${shown}, quoting where the cell needs it`, async () => {
      const plain = event(0, `${start}cmd|' /C calc'!A0`, `${start}SUM(1+1)`, `${start}1`);
      // Quotes and a comma in each cell: the prefix goes inside the quotes, before the first character.
      const quoted = event(1, `${start}HYPERLINK("http://x","y")`, `${start}a,b`, `${start}"x",1`);
      // Larger than one piece: the data cell leaves in slices, and the prefix with the first.
      const large = event(2, `${start}u`, `${start}t`, `${start}"${'x'.repeat(PIECE_CHARS)}",`);
      assert.deepEqual(await csvRows([plain, quoted, large]), [
        ['id', 'timestamp', 'user_id', 'event_type', 'data'],
        row(plain, `'${plain.userId}`, `'${plain.eventType}`, `'${plain.dataJson}`),
        row(quoted, `'${quoted.userId}`, `'${quoted.eventType}`, `'${quoted.dataJson}`),
        row(large, `'${large.userId}`, `'${large.eventType}`, `'${large.dataJson}`),
      ]);
    });
  }

  it('leaves a cell alone that only holds a formula character further in, or starts with an apostrophe already', async () => {
    const inner = event(0, 'a=1', 'b+@-', '{"f":"=1"}');
    const apostrophe = event(1, "'=1", "'t", `{"s":"${'='.repeat(PIECE_CHARS)}"}`);
    assert.deepEqual(await csvRows([inner, apostrophe]), [
      ['id', 'timestamp', 'user_id', 'event_type', 'data'],
      row(inner, 'a=1', 'b+@-', '{"f":"=1"}'),
      row(apostrophe, "'=1", "'t", apostrophe.dataJson),
    ]);
  });
});
