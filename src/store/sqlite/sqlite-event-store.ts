import { createEventStore } from '../create-event-store.js';
import type { EventStore, StoreOptions } from '../event-store.js';
import { openSqliteBackend } from './sqlite-backend.js';

/** The EventStore on the SQLite file at `path` (created with its folder when missing). */
export function openSqliteEventStore(path: string, options: StoreOptions = {}): EventStore {
  return createEventStore(openSqliteBackend(path, options), options);
}
