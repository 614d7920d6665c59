/**
 * A process-wide allowance of memory for what requests or answers hold while they are under way
 * (event text for answers, bodies for requests), shared by all of them. Each reserves before it
 * reads and gives back once done, so however many clients send or export at once, what is held
 * stays near `capacity` (a chunk may overshoot its reservation by the one event that crossed its
 * limit, which is claimed; see readInChunks). Reservations are made for a holder (the key that
 * asked), and one holder may hold at most `holderShare` of the capacity: a key whose clients read
 * slowly, or send much, cannot take the memory everyone else needs.
 */
export type MemoryBudget = {
  /**
   * Reserves `amount` for `holder`, waiting until it fits, for at most `waitMs`. Resolves true
   * once reserved, false when the wait ran out (nothing is then reserved).
   */
  reserve(amount: number, holder: string, waitMs?: number): Promise<boolean>;
  /**
   * Reserves `amount` for `holder` at once when it fits and nobody is waiting, as `reserve` would
   * without waiting; false otherwise (nothing is then reserved). Spares the common case a promise.
   */
  tryReserve(amount: number, holder: string): boolean;
  /** Counts `amount` as reserved at once, fitting or not: memory already taken (a chunk larger than reserved). */
  claim(amount: number, holder: string): void;
  /** Gives back `amount` reserved before; waiting reservations that now fit go ahead. */
  release(amount: number, holder: string): void;
  /** What is reserved now, by everyone. */
  reserved(): number;
};

/**
 * How long new work (a request's body, an answer's first chunk) waits for room before it is
 * refused with a 503: ordinary work gives its room back within milliseconds, so only large work
 * held for long makes anyone wait this much.
 */
export const ROOM_WAIT_MS = 1000;

/** The part of the whole that one holder may hold, unless it is the only one asking. */
export const HOLDER_SHARE = 1 / 4;

type Waiter = { amount: number; holder: string; settle(reserved: boolean): void };

export function createMemoryBudget(capacity: number, holderShare = HOLDER_SHARE): MemoryBudget {
  let reserved = 0;
  const byHolder = new Map<string, number>();
  const waiting: Waiter[] = [];
  const heldBy = (holder: string): number => byHolder.get(holder) ?? 0;

  // A reservation larger than the whole budget (or a holder's share) would wait forever: it goes
  // ahead when nothing else is held (by that holder).
  const fits = (amount: number, holder: string): boolean => {
    const held = heldBy(holder);
    return (reserved === 0 || reserved + amount <= capacity) && (held === 0 || held + amount <= capacity * holderShare);
  };
  const add = (amount: number, holder: string): void => {
    reserved += amount;
    byHolder.set(holder, heldBy(holder) + amount);
  };

  // In order of arrival, every waiter that fits goes ahead: one waiting at its holder's share
  // does not hold up the others behind it.
  const wakeWaiting = (): void => {
    for (let i = 0; i < waiting.length; ) {
      const waiter = waiting[i]!;
      if (!fits(waiter.amount, waiter.holder)) {
        i++;
        continue;
      }
      waiting.splice(i, 1);
      add(waiter.amount, waiter.holder);
      waiter.settle(true);
    }
  };

  const tryReserve = (amount: number, holder: string): boolean => {
    if (waiting.length !== 0 || !fits(amount, holder)) return false;
    add(amount, holder);
    return true;
  };

  return {
    tryReserve,
    reserve(amount, holder, waitMs = Number.POSITIVE_INFINITY) {
      if (tryReserve(amount, holder)) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter: Waiter = {
          amount,
          holder,
          settle(granted) {
            clearTimeout(timer);
            resolve(granted);
          },
        };
        const timer = Number.isFinite(waitMs)
          ? setTimeout(() => {
            waiting.splice(waiting.indexOf(waiter), 1);
            waiter.settle(false);
          }, waitMs)
          : undefined;
        waiting.push(waiter);
        wakeWaiting(); // it may fit now, behind others that do not
      });
    },
    claim(amount, holder) {
      add(amount, holder);
    },
    release(amount, holder) {
      const held = heldBy(holder);
      const given = Math.min(amount, held);
      reserved -= given;
      if (held - given === 0) byHolder.delete(holder);
      else byHolder.set(holder, held - given);
      wakeWaiting();
    },
    reserved: () => reserved,
  };
}
