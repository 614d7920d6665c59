import type { StoredEvent } from '../events/event.js';
import { HttpError } from '../http/http-error.js';
import { ROOM_WAIT_MS, type MemoryBudget } from '../http/memory-budget.js';
import type { EventChunk } from '../store/event-store.js';
import { CHUNK_SIZE } from '../store/read-in-chunks.js';

/** The size the budget counts for an event: the length of its text, as a chunk measures it. */
export function sizeOfEvent(event: StoredEvent): number {
  return event.dataJson.length + event.userId.length + event.eventType.length;
}

export function sizeOfEvents(events: readonly StoredEvent[]): number {
  let size = 0;
  for (const event of events) size += sizeOfEvent(event);
  return size;
}

/** The answer when the budget has no room for one more: nothing has been sent, so say when to come back. */
export function busyWithLargeAnswers(): HttpError {
  return new HttpError(
    503,
    'The service is sending as many large answers as its memory allows (to this key, or to all); retry in 1 s',
    { 'Retry-After': '1' },
  );
}

/**
 * `chunks`, each read only once `budget` has room for a chunk, and given back when the next one
 * is asked for (by then the consumer has written it out) or the reading stops. The first chunk
 * waits at most ROOM_WAIT_MS, then throws a 503, before anything is sent. Later chunks wait their
 * turn however long, so a stream already under way slows down rather than fails.
 */
export async function* meterChunks(
  chunks: AsyncIterable<EventChunk>,
  budget: MemoryBudget,
  holder: string,
): AsyncIterable<EventChunk> {
  if (!(await budget.reserve(CHUNK_SIZE, holder, ROOM_WAIT_MS))) throw busyWithLargeAnswers();
  let held = CHUNK_SIZE;
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      held = settle(budget, holder, held, sizeOfEvents(next.value));
      yield next.value;
      budget.release(held, holder);
      held = 0;
      await budget.reserve(CHUNK_SIZE, holder);
      held = CHUNK_SIZE;
    }
  } finally {
    budget.release(held, holder);
    await iterator.return?.();
  }
}

/**
 * Turns a reservation of `held` into one of `size`, what was really read: the unused part goes
 * back, an overshoot (the event that crossed the chunk's limit) is claimed. Returns `size`.
 */
export function settle(budget: MemoryBudget, holder: string, held: number, size: number): number {
  if (size < held) budget.release(held - size, holder);
  else if (size > held) budget.claim(size - held, holder);
  return size;
}
