import type { Logger } from '../ops/logger.js';

export const OBSERVER_FAILED = 'the observer of committed transactions failed; no answer changed';

/**
 * StoreOptions.onTransactionCommitted as a backend calls it, once a transaction is durable and its
 * requests are answered: told the events each one wrote (none for a transaction of replays only,
 * which is not reported). Whatever the observer throws is a fault of ours, logged with its stack,
 * and goes no further: the events are committed, and their answers must say so.
 */
export function transactionObserver(observer: ((events: number) => void) | undefined, log: Logger): (events: number) => void {
  return (events) => {
    if (observer === undefined || events === 0) return;
    try {
      observer(events);
    } catch (error) {
      log.error({ msg: OBSERVER_FAILED, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  };
}
