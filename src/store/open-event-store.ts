import type { DatabaseLocation } from '../config.js';
import type { EventStore, StoreOptions } from './event-store.js';
import type { EventReader } from './storage-backend.js';
import { openSqliteEventStore } from './sqlite/sqlite-event-store.js';
import { openSqliteReader } from './sqlite/sqlite-reader.js';

/** Opens the store AUDITOR_DB names: the SQLite file, or the PostgreSQL database (migrated first). */
export async function openEventStore(database: DatabaseLocation, options: StoreOptions): Promise<EventStore> {
  const { chainSecret, ...rest } = options;
  if (database.kind === 'sqlite') return openSqliteEventStore(database.path, options);
  if (chainSecret === undefined) throw new Error('a PostgreSQL store needs the chain secret its instances share');
  // Loaded only when used: the driver adds about 16 MB to a process that never needs it.
  const { openPostgresEventStore } = await import('./postgres/postgres-event-store.js');
  return openPostgresEventStore(database.url, { ...rest, chainSecret });
}

/**
 * The events of the database AUDITOR_DB names, for reading only (the command-line tools): it
 * must exist, and is neither created nor migrated.
 */
export async function openEventReader(database: DatabaseLocation): Promise<EventReader> {
  if (database.kind === 'sqlite') return openSqliteReader(database.path);
  const { openPostgresReader } = await import('./postgres/postgres-reader.js');
  return openPostgresReader(database.url);
}
