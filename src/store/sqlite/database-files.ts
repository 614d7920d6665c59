import { statSync } from 'node:fs';

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
