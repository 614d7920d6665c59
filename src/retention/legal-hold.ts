import type { StoredEvent } from '../events/event.js';
import { SYSTEM_EVENT_TYPES } from '../events/system-event-types.js';
import type { EventStore } from '../store/event-store.js';
import type { PseudonymOf } from './pseudonym.js';

/**
 * What a legal hold keeps: one user's events (named in the log by the user's pseudonym only, so
 * that a hold on a person does not write the person's name into the log for ever), one type's, or
 * those recorded in a time range [since, until).
 */
export type HoldScope =
  | { kind: 'user'; pseudonym: string }
  | { kind: 'event_type'; eventType: string }
  | { kind: 'time'; sinceMs: number; untilMs: number };

/** A hold in force: the id of the auditor.hold event that placed it, and what that event says. */
export type LegalHold = { id: string; scope: HoldScope; reason: string; placedAtMs: number; placedBy: string | null };

/** What a hold needs to know of an event to say whether it keeps it. */
export type HoldableEvent = { timestampMs: number; userId: string; eventType: string };

/** The auditor.hold event's data for `scope`. */
export function holdScopeJson(scope: HoldScope): Record<string, string> {
  switch (scope.kind) {
    case 'user':
      return { user_pseudonym: scope.pseudonym };
    case 'event_type':
      return { event_type: scope.eventType };
    case 'time':
      return { since: new Date(scope.sinceMs).toISOString(), until: new Date(scope.untilMs).toISOString() };
  }
}

/**
 * The holds in force, read from the log itself: every auditor.hold event not followed by an
 * auditor.hold_released naming it. Holds are few, and the log is their only record, so each
 * backend (and each instance sharing a PostgreSQL database) sees the same holds.
 */
export async function holdsInForce(store: EventStore): Promise<LegalHold[]> {
  const placed = new Map<string, LegalHold>();
  const query = { eventTypes: [SYSTEM_EVENT_TYPES.hold, SYSTEM_EVENT_TYPES.holdReleased], dataFilters: [], order: 'asc' as const };
  for await (const chunk of store.query(query)) {
    for (const event of chunk) {
      if (event.eventType === SYSTEM_EVENT_TYPES.hold) {
        const hold = readHold(event);
        if (hold !== undefined) placed.set(hold.id, hold);
      } else {
        const released = (JSON.parse(event.dataJson) as { hold?: unknown }).hold;
        if (typeof released === 'string') placed.delete(released);
      }
    }
  }
  return [...placed.values()];
}

/** The hold an auditor.hold event placed (undefined for data this version does not read, which holds nothing). */
function readHold(event: StoredEvent): LegalHold | undefined {
  const data = JSON.parse(event.dataJson) as { scope?: Record<string, unknown>; reason?: unknown };
  const scope = data.scope ?? {};
  const reason = typeof data.reason === 'string' ? data.reason : '';
  const placedBy = (data as { placed_by?: unknown }).placed_by;
  const common = { id: event.id, reason, placedAtMs: event.timestampMs, placedBy: typeof placedBy === 'string' ? placedBy : null };
  if (typeof scope.user_pseudonym === 'string') return { ...common, scope: { kind: 'user', pseudonym: scope.user_pseudonym } };
  if (typeof scope.event_type === 'string') return { ...common, scope: { kind: 'event_type', eventType: scope.event_type } };
  if (typeof scope.since === 'string' && typeof scope.until === 'string') {
    return { ...common, scope: { kind: 'time', sinceMs: Date.parse(scope.since), untilMs: Date.parse(scope.until) } };
  }
  return undefined;
}

/**
 * Tells, for events, the first hold in force that keeps each (undefined when none does). A user's
 * pseudonym is computed once per user_id asked about.
 */
export function createHoldMatcher(holds: readonly LegalHold[], pseudonymOf: PseudonymOf): (event: HoldableEvent) => LegalHold | undefined {
  const pseudonyms = new Map<string, string>();
  const pseudonymOfUser = (userId: string): string => {
    let pseudonym = pseudonyms.get(userId);
    if (pseudonym === undefined) pseudonyms.set(userId, (pseudonym = pseudonymOf({ field: 'user_id', value: userId })));
    return pseudonym;
  };
  return (event) =>
    holds.find(({ scope }) => {
      switch (scope.kind) {
        case 'user':
          // An event whose user_id an erasure already replaced bears the pseudonym itself.
          return event.userId === scope.pseudonym || pseudonymOfUser(event.userId) === scope.pseudonym;
        case 'event_type':
          return event.eventType === scope.eventType;
        case 'time':
          return event.timestampMs >= scope.sinceMs && event.timestampMs < scope.untilMs;
      }
    });
}
