import type { NewEvent } from '../events/event.js';
import { SYSTEM_EVENT_TYPES, systemEvent } from '../events/system-event-types.js';

/**
 * The system events that put each webhook sink on the record: where the log's events are sent is
 * itself evidence (who started sending what, to whom, and when it stopped). Never the secret.
 */

/** auditor.sink_added: from this event on, the events `filters` match are delivered to `url`. Its id is the sink's. */
export function sinkAddedRecord(url: string, filters: Record<string, string[]>, addedBy: string | undefined): NewEvent {
  return systemEvent(SYSTEM_EVENT_TYPES.sinkAdded, { url, filters, added_by: addedBy ?? null }, addedBy);
}

/** auditor.sink_removed: the sink added by the event `sinkId` is delivered to no more. */
export function sinkRemovedRecord(sinkId: string, removedBy: string | undefined): NewEvent {
  return systemEvent(SYSTEM_EVENT_TYPES.sinkRemoved, { sink: sinkId, removed_by: removedBy ?? null }, removedBy);
}
