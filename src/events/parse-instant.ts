/**
 * Parses an ISO 8601 instant to milliseconds since the epoch: a date and time with a zone
 * (`2026-11-26T21:04:05Z`, `2026-11-26T22:04:05.123+01:00`) or a date alone, read as midnight UTC.
 * A time without a zone is refused rather than guessed, as is a date that does not exist.
 */
export function parseInstant(text: string): number | undefined {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/i.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone = 'Z'] = match;
  if (match[4] !== undefined && match[8] === undefined) return undefined;
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  const date = new Date(utc);
  // Date.UTC rolls 2026-02-30 over into March (and reads years below 100 as 19xx): a round trip
  // shows the date did not exist.
  if (date.getUTCFullYear() !== Number(year) || date.getUTCDate() !== Number(day) || date.getUTCMonth() !== Number(month) - 1 || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const [zoneHours, zoneMinutes] = zone.slice(1).split(':').map(Number) as [number, number];
    if (zoneHours > 23 || zoneMinutes > 59) return undefined;
    offsetMinutes = sign * (zoneHours * 60 + zoneMinutes);
  }
  const milliseconds = Number(fraction.padEnd(3, '0').slice(0, 3));
  return utc + milliseconds - offsetMinutes * 60_000;
}
