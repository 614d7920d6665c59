import { rmSync } from 'node:fs';
import type { TestServer } from './test-server.js';

/**
 * Makes the store of `server` refuse every write for a reason it recognises, for real: the SQLite
 * file deleted under it, or a PostgreSQL disk that is full. Returns what the log says of it.
 */
export async function breakStore(server: TestServer): Promise<RegExp> {
  const { location } = server.database;
  if (location.kind === 'sqlite') {
    rmSync(location.path);
    rmSync(`${location.path}-wal`, { force: true });
    return /^writes refused: the database file is lost \(.*auditor\.db(-wal)? was deleted\); nothing more can be recorded$/;
  }
  await server.database.execute(`
    CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
    CREATE TRIGGER refuse_event_writes BEFORE INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes()`);
  return /^writes refused: could not extend file: No space left on device$/;
}
