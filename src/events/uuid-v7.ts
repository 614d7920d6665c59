import { randomFillSync } from 'node:crypto';

export type TimeOrderedId = { id: string; timestampMs: number };

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const RANDOM_POOL_BYTES = 8 * 1024;

/** An id this code made: its time field, then `7` and the 12-bit counter. */
const OWN_ID = /^([0-9a-f]{8})-([0-9a-f]{4})-7([0-9a-f]{3})-/;

/**
 * Returns a generator of UUIDv7 ids (RFC 9562) that strictly increase, even when the clock steps
 * back or many ids share a millisecond (RFC 9562 §6.2 method 1: a 12-bit counter in rand_a,
 * randomly seeded each millisecond; on overflow the time field moves on by one). Given `after` (the
 * last id stored, and its timestamp), the ids follow it, whichever process made it. The returned
 * timestamp is the id's own time field, so an event's id and timestamp always agree.
 */
export function createUuidV7Generator(now: () => number = Date.now, after?: TimeOrderedId): () => TimeOrderedId {
  const pool = new Uint8Array(RANDOM_POOL_BYTES);
  let poolOffset = pool.length;
  let lastMs = after?.timestampMs ?? -1;
  let counter = after === undefined ? 0 : counterOf(after);

  const randomBytes = (count: number): number => {
    if (poolOffset + count > pool.length) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const start = poolOffset;
    poolOffset += count;
    return start;
  };

  return () => {
    const clock = now();
    if (clock > lastMs) {
      lastMs = clock;
      const at = randomBytes(2);
      counter = ((pool[at]! << 8) | pool[at + 1]!) & 0x7ff; // top bit clear: room to count up
    } else if (++counter > 0xfff) {
      lastMs++;
      counter = 0;
    }

    const time = lastMs.toString(16).padStart(12, '0');
    const at = randomBytes(8);
    let tail = HEX[0x80 | (pool[at]! & 0x3f)]! + HEX[pool[at + 1]!]!; // variant bits 10
    for (let i = at + 2; i < at + 8; i++) tail += HEX[pool[i]!]!;
    const id = `${time.slice(0, 8)}-${time.slice(8)}-7${counter.toString(16).padStart(3, '0')}-${tail.slice(0, 4)}-${tail.slice(4)}`;
    return { id, timestampMs: lastMs };
  };
}

/**
 * The counter of `after`, to count on from within its millisecond; for an id this code did not make
 * in that millisecond, the last value, so that the next id moves on to the next millisecond.
 */
function counterOf({ id, timestampMs }: TimeOrderedId): number {
  const own = OWN_ID.exec(id);
  return own !== null && parseInt(own[1]! + own[2]!, 16) === timestampMs ? parseInt(own[3]!, 16) : 0xfff;
}
