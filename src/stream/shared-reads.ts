/**
 * What one stream read, kept for a moment for the others: streams with the same filters at the
 * same position (a firehose and its copies, all keeping up with the head) read and encode each
 * chunk once between them instead of once each. Bounded in entries and bytes, and short-lived: an
 * entry is what the log held after a position a moment ago, which is all a stream reading it then
 * would have got.
 */
import type { Position } from '../events/event.js';

/** A chunk of a stream's messages: their text, where it ends, and whether more may follow it. */
export type SharedChunk = { text: string; last: Position; more: boolean };

/** How long an entry is served, in ms. */
const FRESH_MS = 1000;
const MAX_ENTRIES = 256;
/** Most characters of message text kept in all entries together. */
const MAX_CHARS = 8 * 1024 * 1024;

export type SharedReads = {
  get(filters: string, after: Position): SharedChunk | undefined;
  set(filters: string, after: Position, chunk: SharedChunk): void;
};

export function createSharedReads(clock: () => number = Date.now): SharedReads {
  const entries = new Map<string, SharedChunk & { atMs: number }>();
  let chars = 0;
  const keyOf = (filters: string, after: Position): string => `${after.seq}:${after.timestampMs}:${filters}`;
  const drop = (key: string): void => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    chars -= entry.text.length;
    entries.delete(key);
  };
  return {
    get(filters, after) {
      const key = keyOf(filters, after);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (clock() - entry.atMs > FRESH_MS) {
        drop(key);
        return undefined;
      }
      return entry;
    },
    set(filters, after, chunk) {
      if (chunk.text.length > MAX_CHARS / 8) return; // a large catch-up chunk is nobody else's
      const key = keyOf(filters, after);
      drop(key);
      // Oldest first (a Map keeps insertion order): out go the oldest until the new one fits.
      for (const oldest of entries.keys()) {
        if (entries.size < MAX_ENTRIES && chars + chunk.text.length <= MAX_CHARS) break;
        drop(oldest);
      }
      entries.set(key, { ...chunk, atMs: clock() });
      chars += chunk.text.length;
    },
  };
}
