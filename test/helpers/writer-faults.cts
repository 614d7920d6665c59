/**
 * Faults of the SQLite writer thread at its COMMIT, for tests only: what no test could time for
 * real (a file deleted during the COMMIT, an fsync that fails after the commit's frames were
 * written, the thread dying before it answers). Loaded into every thread of the service with
 * NODE_OPTIONS=--require=… (Node gives a worker its parent's --require, not its --import); it acts
 * only in the writer thread, only when AUDITOR_TEST_WRITER_FAULT names a fault, and only on the
 * COMMIT of a transaction that inserted an event of type "writer-fault". The COMMIT itself runs
 * for real first: its transaction is committed, whatever the fault says next.
 */
import type BetterSqlite3 = require('better-sqlite3');
import fs = require('node:fs');
import workerThreads = require('node:worker_threads');

const fault = process.env.AUDITOR_TEST_WRITER_FAULT;
// The same package the service loads on this Node (sqlitePackageFor in src/store/sqlite/sqlite-driver.ts,
// an ES module this CommonJS file cannot require on Node 20).
const nodeMajor = Number(process.versions.node.split('.')[0]);
const Database = require(nodeMajor >= 22 ? 'better-sqlite3-13' : 'better-sqlite3') as typeof BetterSqlite3;

if (!workerThreads.isMainThread && fault !== undefined) {
  const { path } = workerThreads.workerData as { path: string };
  const statement = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as BetterSqlite3.Statement;
  const run = statement.run;
  let armed = false;
  statement.run = function (this: BetterSqlite3.Statement, ...parameters: unknown[]) {
    if (this.source.startsWith('INSERT INTO events') && parameters.includes('writer-fault')) armed = true;
    if (this.source !== 'COMMIT' || !armed) return run.apply(this, parameters);
    armed = false;
    const result = run.apply(this, parameters);
    switch (fault) {
      case 'lose-file-after-commit':
        fs.rmSync(path);
        return result;
      case 'ioerr-after-commit':
        throw new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_FSYNC');
      case 'exit-after-commit':
        process.exit(1); // in a worker, ends the thread
      default:
        throw new Error(`unknown AUDITOR_TEST_WRITER_FAULT: ${fault}`);
    }
  } as typeof run;
}
