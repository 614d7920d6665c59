/**
 * better-sqlite3, in the major that is safe on the running Node: every module that opens a SQLite
 * file takes its `Database` from here, never from the package itself.
 *
 * Two majors, because neither runs on both of the Node versions the service supports:
 * - 12 is built on Node's own `ObjectWrap`, whose Node 24 version removes a cleanup hook when a
 *   database, statement or iterator is garbage collected. A collection started by an allocation
 *   in one of V8's builtins runs with no context entered, Node finds no environment, and the
 *   process aborts (`Assertion failed: (env) != nullptr`): seen here within seconds under load.
 * - 13 is built on Node-API, which has no such hook, and ships prebuilt binaries; it asks for
 *   Node 22 or later and crashes on Node 20.
 * Both speak the same API and the same SQLite file format, so the choice is invisible past here.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/** The package (an npm alias for 13, see package.json) this Node must load. */
export function sqlitePackageFor(nodeVersion: string): string {
  const major = Number(nodeVersion.split('.')[0]);
  return major >= 22 ? 'better-sqlite3-13' : 'better-sqlite3';
}

const Database = createRequire(import.meta.url)(sqlitePackageFor(process.versions.node)) as typeof BetterSqlite3;

// The types under the same name as the value, as `import Database from 'better-sqlite3'` gives them.
declare namespace Database {
  type Database = BetterSqlite3.Database;
  type Statement<BindParameters extends unknown[] | {} = unknown[], Result = unknown> = BetterSqlite3.Statement<BindParameters, Result>;
  type SqliteError = BetterSqlite3.SqliteError;
  type Options = BetterSqlite3.Options;
}

export default Database;
