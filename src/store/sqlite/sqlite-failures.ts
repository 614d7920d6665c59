import { LOST_FILE } from './database-files.js';

/**
 * SQLite's primary result codes for a condition of the file or its disk rather than of the
 * statement: a full disk, an I/O error, a file it may not write or open, a lock held too long.
 */
const CONDITIONS = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_BUSY', 'SQLITE_LOCKED'];

/**
 * Whether SQLite refused the row itself (SQLITE_CONSTRAINT and its extended codes: CHECK, UNIQUE,
 * NOT NULL, a trigger's RAISE), so that the submission it belongs to fails alone and the rest of
 * the transaction goes on. Anything else (a full disk, an I/O error, a datatype mismatch no event
 * can cause) fails the whole transaction, and keeps its code for recogniseSqliteFailure.
 */
export function isRowRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT');
}

/** The reason a SQLite write failed, when it is a condition the service recognises (see RecogniseFailure). */
export function recogniseSqliteFailure(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.message.startsWith(LOST_FILE)) return error.message;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !CONDITIONS.some((condition) => code === condition || code.startsWith(`${condition}_`))) return undefined;
  return `${error.message} (${code})`;
}
