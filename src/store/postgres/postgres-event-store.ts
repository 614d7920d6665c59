import { createEventStore } from '../create-event-store.js';
import type { EventStore, StoreOptions } from '../event-store.js';
import type { PostgresBounds } from './postgres-bounds.js';
import { openPostgresBackend } from './postgres-backend.js';

/** The EventStore on PostgreSQL (`url`), its schema brought up to date first. */
export async function openPostgresEventStore(url: string, options: StoreOptions & { chainSecret: string; bounds?: PostgresBounds }): Promise<EventStore> {
  return createEventStore(await openPostgresBackend(url, options), options);
}
