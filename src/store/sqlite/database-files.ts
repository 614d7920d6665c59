import { existsSync, statSync } from 'node:fs';

/** The files SQLite keeps for the database at `path` in WAL mode: the database, its log, its shared index. */
export function databaseFiles(path: string): [database: string, wal: string, shm: string] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/**
 * Those of the database's files that others than their owner may read or write, with their
 * modes: audit data is for its owner (SQLite gives the -wal and -shm the database file's mode).
 */
export function filesOpenToOthers(path: string): string[] {
  const open: string[] = [];
  for (const file of databaseFiles(path)) {
    const mode = statSync(file, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && (mode & 0o077) !== 0) open.push(`${file} (${(mode & 0o777).toString(8).padStart(4, '0')})`);
  }
  return open;
}

/** Device and inode of each of the database's files: which files they are, whatever names they have. */
export type FileIdentity = ReadonlyArray<{ path: string; dev: bigint; ino: bigint }>;

/** The identity of the database's files now (all three exist once a connection has written). */
export function readFileIdentity(path: string): FileIdentity {
  return databaseFiles(path).map((file) => {
    const { dev, ino } = statSync(file, { bigint: true });
    return { path: file, dev, ino };
  });
}

/**
 * Why the paths no longer name the files of `identity` (one was deleted, or replaced by another
 * file), or undefined while they do. Three stat calls: cheap enough for every commit.
 */
export function lostFiles(identity: FileIdentity): string | undefined {
  for (const { path, dev, ino } of identity) {
    let now;
    try {
      now = statSync(path, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      return `${path} cannot be found (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    }
    if (now === undefined) return `${path} was deleted`;
    if (now.dev !== dev || now.ino !== ino) return `${path} was replaced by another file`;
  }
  return undefined;
}

/** How every refusal of a write begins once the database's files are lost. */
export const LOST_FILE = 'the database file is lost';

/** What every write is refused with once the database's files are lost (`reason`: how). */
export function lostFileMessage(reason: string): string {
  return `${LOST_FILE} (${reason}); nothing more can be recorded`;
}

/**
 * Refuses to let a new, empty database be created where an earlier one's files remain (its marker,
 * its chain secret, its -wal) but the database file is gone: deleted or moved away, it would be
 * silently replaced by an empty log. `allowNew` (AUDITOR_ALLOW_NEW_DATABASE=1) says a new log is meant.
 */
export function refuseToReplaceMissingDatabase(path: string, earlierFiles: readonly string[], allowNew: boolean): void {
  if (allowNew || existsSync(path)) return;
  const found = earlierFiles.filter((file) => existsSync(file));
  if (found.length === 0) return;
  throw new Error(
    `there is no database file, but ${new Intl.ListFormat('en').format(found)} of an earlier one ${found.length === 1 ? 'is' : 'are'} there: ` +
      'restore the database (with its -wal, if it had one) from a backup, or set AUDITOR_ALLOW_NEW_DATABASE=1 once to start a new, empty log',
  );
}
