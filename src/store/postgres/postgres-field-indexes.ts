import type { Logger } from '../../ops/logger.js';
import { FIELD_INDEX_PREFIX, fieldIndexChanges, type IndexedField } from '../indexed-fields.js';
import { createPostgresPool } from './postgres-pool.js';
import { postgresFieldExpression } from './postgres-query-sql.js';
import { inTransaction } from './postgres-transaction.js';

/**
 * Makes the database's field indexes those AUDITOR_INDEXED_FIELDS declares, at start-up: a B-tree
 * over the field's jsonb value and seq for each declared field (beside the GIN index, which serves
 * containment but neither order nor a count by range), and none for a field no longer declared;
 * then ANALYZE, so that the planner knows the new index's values at once. Through a connection of
 * its own, without the service's bounds, in one transaction under the migrations' lock, so that
 * instances starting at once take turns. Creating an index holds the log's writes (every
 * instance's) for as long as it takes, which each line says.
 */
export async function syncPostgresFieldIndexes(url: string, fields: readonly IndexedField[], log: Logger): Promise<void> {
  const pool = createPostgresPool(url);
  try {
    await inTransaction(pool, 'BEGIN', async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('auditor-migrate:' || current_schema()))`);
      const { rows: existing } = await client.query<{ name: string; definition: string }>(
        `SELECT indexname AS name, indexdef AS definition FROM pg_indexes
         WHERE schemaname = current_schema() AND tablename = 'events' AND left(indexname, $1) = $2`,
        [FIELD_INDEX_PREFIX.length, FIELD_INDEX_PREFIX],
      );
      const { create, drop } = fieldIndexChanges(existing.map((index) => index.name), fields);
      for (const name of drop) {
        const started = performance.now();
        await client.query(`DROP INDEX ${name}`); // a name of our own making: the prefix and hex digits
        const definition = existing.find((index) => index.name === name)?.definition;
        log.info({ msg: 'dropped the index of a field AUDITOR_INDEXED_FIELDS no longer declares', index: name, definition, seconds: secondsSince(started) });
      }
      for (const field of create) {
        const started = performance.now();
        await client.query(`CREATE INDEX ${field.index} ON events (${postgresFieldExpression(field.path)}, seq)`);
        log.info({ msg: 'indexed a field AUDITOR_INDEXED_FIELDS declares', field: field.name, index: field.index, seconds: secondsSince(started) });
      }
      if (create.length > 0) await client.query('ANALYZE events');
    });
  } finally {
    await pool.end();
  }
}

function secondsSince(started: number): number {
  return Math.round(performance.now() - started) / 1000;
}
