/** An event as GET /events answers it. */
export type AuditEvent = {
  id: string;
  timestamp: string;
  user_id: string;
  event_type: string;
  /** null once its payload was removed (see `removed`). */
  data: unknown;
  /** Set when retention or an erasure removed its payload: why, when, and the id of the record that says so. */
  removed?: Removal;
};

export type Removal = { reason: string; at: string; by: string };

/** Checks what the API sent before the page shows it: a broken answer is an error, not a blank row. */
export function toEvent(value: unknown): AuditEvent {
  if (typeof value !== 'object' || value === null) throw new Error('The service sent an event that is not an object.');
  const record = value as Record<string, unknown>;
  const { id, timestamp, user_id: userId, event_type: eventType } = record;
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof userId !== 'string' || typeof eventType !== 'string') {
    throw new Error('The service sent an event without its id, timestamp, user_id or event_type.');
  }
  const event: AuditEvent = { id, timestamp, user_id: userId, event_type: eventType, data: record.data };
  const removed = record.removed as Partial<Removal> | undefined;
  if (removed !== undefined) {
    if (typeof removed !== 'object' || removed === null || typeof removed.reason !== 'string' || typeof removed.at !== 'string' || typeof removed.by !== 'string') {
      throw new Error('The service sent an event whose removal is not reason, at and by.');
    }
    event.removed = { reason: removed.reason, at: removed.at, by: removed.by };
  }
  return event;
}

/** What a page says in place of a removed payload. */
export function removalNote(removed: Removal): string {
  return `Removed by ${removed.reason === 'erasure' ? 'an erasure' : 'the retention policy'} on ${localTime(removed.at)}`;
}

export function toEvents(value: unknown): AuditEvent[] {
  if (!Array.isArray(value)) throw new Error('The service sent something other than a list of events.');
  return value.map(toEvent);
}

/** The time in the viewer's own zone; the UTC value stays in a title. */
export function localTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
