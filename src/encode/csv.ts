import type { StoredEvent } from '../events/event.js';
import { encodeInPieces } from './encode-in-pieces.js';
import { PIECE_CHARS, slices } from './text-pieces.js';

const HEADER = 'id,timestamp,user_id,event_type,data\r\n';

/**
 * Streams events as RFC 4180 CSV (CRLF line ends, a header row, `data` as JSON). A cell a
 * spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is prefixed with an
 * apostrophe: a hostile user_id must not execute in an analyst's spreadsheet.
 */
export function encodeCsv(chunks: AsyncIterable<readonly StoredEvent[]>): AsyncIterable<string> {
  return encodeInPieces(chunks, { head: HEADER, between: '', after: '\r\n', tail: '', encode: csvRowParts });
}

function csvRowParts(event: StoredEvent): string | Iterable<string> {
  const start = `${event.id},${new Date(event.timestampMs).toISOString()},${csvCell(event.userId)},${csvCell(event.eventType)},`;
  return event.dataJson.length <= PIECE_CHARS ? start + csvCell(event.dataJson) : largeCsvCell(start, event.dataJson);
}

export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** `start`, then the cell for a large `value`, escaped a slice at a time (quotes double as they go). */
function* largeCsvCell(start: string, value: string): Generator<string> {
  const quoted = NEEDS_QUOTES.test(value);
  yield start + (quoted ? '"' : '') + (FORMULA_START.test(value) ? "'" : '');
  for (const slice of slices(value)) yield quoted ? slice.replace(/"/g, '""') : slice;
  if (quoted) yield '"';
}
