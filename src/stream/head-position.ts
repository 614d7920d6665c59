import type { Position } from '../events/event.js';
import type { EventStore } from '../store/event-store.js';

/** Where the log ends now: the position of its last event (seq 0 when it is empty), read by the newest-first index. */
export async function headPosition(store: EventStore): Promise<Position> {
  for await (const chunk of store.query({ eventTypes: [], dataFilters: [], order: 'desc', limit: 1 })) {
    if (chunk[0] !== undefined) return { timestampMs: chunk[0].timestampMs, seq: chunk[0].seq };
  }
  return { timestampMs: 0, seq: 0 };
}
