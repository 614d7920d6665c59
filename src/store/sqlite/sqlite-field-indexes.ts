import type Database from 'better-sqlite3';
import type { Logger } from '../../ops/logger.js';
import { FIELD_INDEX_PREFIX, fieldIndexChanges, type IndexedField } from '../indexed-fields.js';
import { sqliteFieldExpression } from './json-path.js';

/**
 * Makes the database's field indexes those AUDITOR_INDEXED_FIELDS declares, at start-up: an index
 * over `json_extract(data, <path>)` for each declared field (its entries end in the rowid, seq, so
 * it serves the field's events in log order), and none for a field no longer declared. Each change
 * is one statement in its own transaction, said with how long it took: indexing a large log takes
 * a while (about a second per million events here), and it is done before the service answers.
 */
export function syncSqliteFieldIndexes(db: Database.Database, fields: readonly IndexedField[], log: Logger): void {
  const existing = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND substr(name, 1, ?) = ?")
    .all(FIELD_INDEX_PREFIX.length, FIELD_INDEX_PREFIX) as Array<{ name: string; sql: string }>;
  const { create, drop } = fieldIndexChanges(existing.map((index) => index.name), fields);
  for (const name of drop) {
    const started = performance.now();
    db.exec(`DROP INDEX ${name}`); // a name of our own making: the prefix and hex digits
    const definition = existing.find((index) => index.name === name)?.sql;
    log.info({ msg: 'dropped the index of a field AUDITOR_INDEXED_FIELDS no longer declares', index: name, definition, seconds: secondsSince(started) });
  }
  for (const field of create) {
    const started = performance.now();
    db.exec(`CREATE INDEX ${field.index} ON events (${sqliteFieldExpression(field.path)})`);
    log.info({ msg: 'indexed a field AUDITOR_INDEXED_FIELDS declares', field: field.name, index: field.index, seconds: secondsSince(started) });
  }
}

function secondsSince(started: number): number {
  return Math.round(performance.now() - started) / 1000;
}
