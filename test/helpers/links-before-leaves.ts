/**
 * Puts a test database back to how the version before links over leaves left it: every event
 * linked over its canonical form (chainHash), and the schema back to before them, without the row
 * that says where links over leaves begin. The next store opened upgrades it as the service would.
 */
import { chainHash, GENESIS_HASH } from '../../src/integrity/chain.js';
import type { TestDatabase } from './test-database.js';

export async function relinkAsBeforeLeaves(database: TestDatabase): Promise<void> {
  const sqlite = database.location.kind === 'sqlite';
  const secret = database.chainSecret();
  let previous = GENESIS_HASH;
  const relinks = (await database.chainRows()).map((row) => {
    previous = chainHash(secret, previous, row);
    return `UPDATE events SET hash = ${bytesLiteral(database, previous)} WHERE seq = ${row.seq}`;
  });
  await asInsider(database, 'events', relinks.join(';'));
  // Back two steps: the sinks came after links over leaves.
  await database.execute(sqlite
    ? `DROP TABLE sinks; DROP TABLE chain_over_leaves; PRAGMA user_version = ${(await database.select('PRAGMA user_version'))[0]!.user_version as number - 2}`
    : 'DROP TABLE sinks; DROP TABLE chain_over_leaves; DROP FUNCTION auditor_keep_chain_over_leaves(); UPDATE auditor_schema_version SET version = version - 2');
}

/** Runs `sql` with `table`'s guarding triggers out of the way, as an insider with the database would, and puts them back. */
export async function asInsider(database: TestDatabase, table: string, sql: string): Promise<void> {
  if (database.location.kind === 'sqlite') {
    const triggers = await database.select(`SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = '${table}'`);
    await database.execute(`${triggers.map((row) => `DROP TRIGGER ${String(row.name)};`).join('')} ${sql}; ${triggers.map((row) => `${String(row.sql)};`).join('')}`);
  } else {
    await database.execute(`ALTER TABLE ${table} DISABLE TRIGGER ALL; ${sql}; ALTER TABLE ${table} ENABLE TRIGGER ALL`);
  }
}

/** `value` as a literal of the database's dialect. */
export function bytesLiteral(database: TestDatabase, value: Buffer): string {
  return database.location.kind === 'sqlite' ? `x'${value.toString('hex')}'` : `'\\x${value.toString('hex')}'::bytea`;
}
