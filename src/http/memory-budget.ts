/**
 * A process-wide allowance of memory, in characters of event text, shared by every response that
 * holds events while it sends them. A response reserves before it reads a chunk of events and
 * gives back once that chunk has been written out, so however many clients export at once, the
 * events held in memory stay near `capacity` (a chunk may overshoot its reservation by the one
 * event that crossed its limit; see readInChunks).
 */
export type MemoryBudget = {
  /**
   * Reserves `amount`, waiting (first come, first served) until it fits, for at most `waitMs`.
   * Resolves true once reserved, false when the wait ran out (nothing is then reserved).
   */
  reserve(amount: number, waitMs?: number): Promise<boolean>;
  /** Counts `amount` as reserved at once, fitting or not: memory already taken (a chunk larger than reserved). */
  claim(amount: number): void;
  /** Gives back `amount` reserved before; waiting reservations that now fit go ahead. */
  release(amount: number): void;
  /** What is reserved now. */
  reserved(): number;
};

type Waiter = { amount: number; settle(reserved: boolean): void };

export function createMemoryBudget(capacity: number): MemoryBudget {
  let reserved = 0;
  const waiting: Waiter[] = [];

  // A reservation larger than the whole budget would wait forever: it goes ahead alone instead.
  const fits = (amount: number): boolean => reserved === 0 || reserved + amount <= capacity;

  const wakeWaiting = (): void => {
    while (waiting.length > 0 && fits(waiting[0]!.amount)) {
      const next = waiting.shift()!;
      reserved += next.amount;
      next.settle(true);
    }
  };

  return {
    reserve(amount, waitMs = Number.POSITIVE_INFINITY) {
      if (waiting.length === 0 && fits(amount)) {
        reserved += amount;
        return Promise.resolve(true);
      }
      return new Promise((resolve) => {
        const waiter: Waiter = {
          amount,
          settle(granted) {
            clearTimeout(timer);
            resolve(granted);
          },
        };
        const timer = Number.isFinite(waitMs)
          ? setTimeout(() => {
            waiting.splice(waiting.indexOf(waiter), 1);
            waiter.settle(false);
            wakeWaiting(); // those behind it may fit now
          }, waitMs)
          : undefined;
        waiting.push(waiter);
      });
    },
    claim(amount) {
      reserved += amount;
    },
    release(amount) {
      reserved = Math.max(0, reserved - amount);
      wakeWaiting();
    },
    reserved: () => reserved,
  };
}
