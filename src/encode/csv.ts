import type { StoredEvent } from '../events/event.js';

const HEADER = 'id,timestamp,user_id,event_type,data\r\n';

/**
 * Streams events as RFC 4180 CSV (CRLF line ends, a header row, `data` as JSON). A cell a
 * spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is prefixed with an
 * apostrophe: a hostile user_id must not execute in an analyst's spreadsheet.
 */
export async function* encodeCsv(chunks: AsyncIterable<readonly StoredEvent[]>): AsyncIterable<string> {
  yield HEADER;
  for await (const events of chunks) {
    if (events.length > 0) yield events.map(encodeCsvRow).join('');
  }
}

function encodeCsvRow(event: StoredEvent): string {
  return (
    `${event.id},${new Date(event.timestampMs).toISOString()},` +
    `${csvCell(event.userId)},${csvCell(event.eventType)},${csvCell(event.dataJson)}\r\n`
  );
}

export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
