import type { Position } from './event.js';

/**
 * Page cursors are opaque to clients: base64url of a versioned position, so the encoding can
 * change without breaking a client that only follows `Link: rel="next"`. A forged cursor can only
 * move the starting point of the caller's own query.
 */
export function encodeCursor({ timestampMs, seq }: Position): string {
  return Buffer.from(`v1:${timestampMs}:${seq}`).toString('base64url');
}

/** The position in `cursor`, or undefined when it is not a cursor this service made. */
export function decodeCursor(cursor: string): Position | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const match = /^v1:(\d{1,15}):(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (match === null) return undefined;
  return { timestampMs: Number(match[1]), seq: Number(match[2]) };
}
