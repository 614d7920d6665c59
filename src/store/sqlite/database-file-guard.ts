import type { Logger } from '../../ops/logger.js';
import { lostFiles, type FileIdentity } from './database-files.js';

/**
 * How often the files are checked when nothing else checks them (no write, no readiness probe),
 * and how often a copy of a lost database that failed is tried again.
 */
const CHECK_INTERVAL_MS = 10_000;

/**
 * Watches that the database's paths still name the files the store opened. Once one is deleted
 * or replaced, whatever is written would be lost with the open file: the store then refuses
 * every write and reports not ready for good, the log says so loudly, and the writer copies what
 * the open file still holds to a file beside it, for the operator to put back. A copy that fails
 * (a full disk) is tried again at every later check until one succeeds: until then this process
 * holds the only copy of the events acknowledged since the last backup.
 */
export type DatabaseFileGuard = {
  /** Checks now (three stat calls): whether the files are still in place. */
  check(): boolean;
  /** Why the files are lost, once they are. */
  lost(): string | undefined;
  /** Marks the files lost for `reason` (as the writer found): logged, and the rescue asked for, once. */
  lose(reason: string): void;
  stop(): void;
};

export function guardDatabaseFiles(
  path: string,
  identity: FileIdentity,
  options: { log: Logger; rescue(to: string, reason: string): Promise<void> },
): DatabaseFileGuard {
  let lost: string | undefined;
  let rescue: { to: string; state: 'copying' | 'failed' | 'copied' } | undefined;

  const copy = (to: string, reason: string): void => {
    rescue = { to, state: 'copying' };
    options.rescue(to, reason).then(
      () => {
        rescue = { to, state: 'copied' };
        options.log.error({ msg: `copied everything the lost database held to ${to}: stop the service, move that file to ${path}, and start it again`, database: path });
      },
      (error: Error) => {
        rescue = { to, state: 'failed' };
        options.log.error({
          msg: `could not copy the lost database to ${to} (${error.message}): the events it held are still held by this process alone, ` +
            `so keep it running (do not restart it); the copy is tried again every ${CHECK_INTERVAL_MS / 1000} s until it succeeds`,
          database: path,
        });
      },
    );
  };

  const lose = (reason: string): void => {
    if (lost !== undefined) return;
    lost = reason;
    const to = `${path}.rescued-${new Date().toISOString().replaceAll(':', '-')}`;
    options.log.error({
      msg: `DATABASE FILE LOST: ${reason}. Every write is refused (503) and /readyz answers 503 until the database is back ` +
        `and the service restarted. Keep it running until what it holds is copied to ${to} (logged next).`,
      database: path,
    });
    copy(to, reason);
  };

  const check = (): boolean => {
    if (lost === undefined) {
      const reason = lostFiles(identity);
      if (reason !== undefined) lose(reason);
    }
    return lost === undefined;
  };

  const timer = setInterval(() => {
    check();
    if (rescue?.state === 'failed') copy(rescue.to, lost!);
  }, CHECK_INTERVAL_MS);
  timer.unref();
  return { check, lost: () => lost, lose, stop: () => clearInterval(timer) };
}
