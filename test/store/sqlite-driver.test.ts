import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import Database, { sqlitePackageFor } from '../../src/store/sqlite/sqlite-driver.js';

const require = createRequire(import.meta.url);

describe('the SQLite driver', () => {
  it('is better-sqlite3 12 on Node 20 and 13 from Node 22 on', () => {
    assert.equal(sqlitePackageFor('20.12.0'), 'better-sqlite3');
    assert.equal(sqlitePackageFor('20.20.2'), 'better-sqlite3');
    assert.equal(sqlitePackageFor('22.0.0'), 'better-sqlite3-13');
    assert.equal(sqlitePackageFor('24.21.0'), 'better-sqlite3-13');
    const major = (name: string) => Number((require(`${name}/package.json`) as { version: string }).version.split('.')[0]);
    assert.equal(major('better-sqlite3'), 12);
    assert.equal(major('better-sqlite3-13'), 13);
  });

  it('is the one this Node loads, and it opens, writes and reads a database', () => {
    assert.equal(Database, require(sqlitePackageFor(process.versions.node)));
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE t (x TEXT CHECK (json_valid(x)))');
      db.prepare('INSERT INTO t VALUES (?)').run('{"a":1}');
      assert.deepEqual(db.prepare("SELECT json_extract(x, '$.a') AS a FROM t").get(), { a: 1 });
    } finally {
      db.close();
    }
  });
});
