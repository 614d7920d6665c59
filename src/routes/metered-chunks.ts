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

/** An answer whose first chunk has been read, and is held against the budget. */
export type StartedReading = {
  /** The first chunk, or undefined when the answer has none. */
  first: EventChunk | undefined;
  /**
   * Every chunk, the first included, each held until the next is asked for; the reading stops when
   * they end or their iteration stops.
   */
  chunks: AsyncIterable<EventChunk>;
  /** Gives back what is held and stops the reading, for an answer that does not iterate `chunks`. */
  stop(): Promise<void>;
};

/**
 * Reads the first of `chunks` now, so that a budget with no room (after ROOM_WAIT_MS, a 503) or a
 * store that cannot answer (a 503 its error says) fails the request before any byte of a 200 is
 * sent. Each chunk is read only once `budget` has room for a chunk, settled to its size, and given
 * back when the next one is asked for (by then the consumer has written it out) or the reading
 * stops. Later chunks wait their turn however long, so a stream already under way slows down
 * rather than fails. The first chunk is read without an async generator: a small answer is sent
 * whole from it, and never needs the rest.
 */
export async function startReading(chunks: AsyncIterable<EventChunk>, budget: MemoryBudget, holder: string): Promise<StartedReading> {
  if (!budget.tryReserve(CHUNK_SIZE, holder) && !(await budget.reserve(CHUNK_SIZE, holder, ROOM_WAIT_MS))) throw busyWithLargeAnswers();
  let held = CHUNK_SIZE;
  const iterator = chunks[Symbol.asyncIterator]();
  const stop = async (): Promise<void> => {
    budget.release(held, holder);
    held = 0;
    await iterator.return?.();
  };
  let first: IteratorResult<EventChunk>;
  try {
    first = await iterator.next();
  } catch (error) {
    await stop();
    throw error;
  }
  if (!first.done) held = settle(budget, holder, held, sizeOfEvents(first.value));

  async function* all(): AsyncGenerator<EventChunk> {
    try {
      for (let next = first; !next.done; next = await iterator.next()) {
        if (next !== first) held = settle(budget, holder, held, sizeOfEvents(next.value));
        yield next.value;
        budget.release(held, holder);
        held = 0;
        if (!budget.tryReserve(CHUNK_SIZE, holder)) await budget.reserve(CHUNK_SIZE, holder);
        held = CHUNK_SIZE;
      }
    } finally {
      await stop();
    }
  }
  // Made only when iterated: an async generator made per answer and never run kept what it
  // refers to (the first chunk) alive through young-generation collections, which then took many
  // times longer under load.
  return { first: first.done ? undefined : first.value, chunks: { [Symbol.asyncIterator]: all }, stop };
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
