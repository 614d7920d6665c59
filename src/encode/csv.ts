import type { StoredEvent } from '../events/event.js';
import { encodeInPieces, type EventLayout } from './encode-in-pieces.js';
import { PIECE_CHARS, slices } from './text-pieces.js';

const HEADER = 'id,timestamp,user_id,event_type,data\r\n';

/**
 * Events as RFC 4180 CSV (CRLF line ends, a header row, `data` as JSON). A cell a spreadsheet
 * would run as a formula (starting with =, +, -, @, tab or CR) is prefixed with an apostrophe: a
 * hostile user_id must not execute in an analyst's spreadsheet.
 */
export const CSV: EventLayout = { head: HEADER, between: '', after: '\r\n', tail: '', encode: csvRowParts };

/** Streams chunks of events as CSV, in pieces of bounded size. */
export function encodeCsv(chunks: AsyncIterable<readonly StoredEvent[]>): AsyncIterable<string | Uint8Array> {
  return encodeInPieces(chunks, CSV);
}

function csvRowParts(event: StoredEvent): string | Iterable<string | Uint8Array> {
  const start = `${event.id},${new Date(event.timestampMs).toISOString()},${csvCell(event.userId)},${csvCell(event.eventType)},`;
  return event.dataJson.length <= PIECE_CHARS ? start + csvCell(event.dataJson) : largeCsvCell(start, event.dataJson);
}

export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * `start`, then the cell for a large `value`, a slice at a time. Quotes are doubled byte by byte
 * into a buffer: a slice of double quotes (a cheap thing for any ingest key to plant) costs a
 * string replace about 30 ms per MiB, and this loop a few.
 */
function* largeCsvCell(start: string, value: string): Generator<string | Uint8Array> {
  const quoted = NEEDS_QUOTES.test(value);
  yield start + (quoted ? '"' : '') + (FORMULA_START.test(value) ? "'" : '');
  for (const slice of slices(value)) yield quoted ? doubleQuotes(slice) : slice;
  if (quoted) yield '"';
}

const QUOTE = 0x22;

/** `text` as UTF-8 with every double quote doubled. */
function doubleQuotes(text: string): Uint8Array {
  const input = Buffer.from(text, 'utf8');
  const output = Buffer.allocUnsafe(input.length * 2);
  let length = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    output[length++] = byte;
    if (byte === QUOTE) output[length++] = QUOTE;
  }
  return output.subarray(0, length);
}
