import type { NewEvent } from './event.js';

/**
 * The event types only the service writes: the record of each retention run, erasure, legal hold
 * and release (src/retention/), and of each webhook sink added and removed (src/delivery/). A client's event may not bear one, so that the verifier and every
 * reader can take an auditor.* event as the service's own.
 */
export const SYSTEM_EVENT_PREFIX = 'auditor.';

export const SYSTEM_EVENT_TYPES = {
  retention: 'auditor.retention',
  erasure: 'auditor.erasure',
  hold: 'auditor.hold',
  holdReleased: 'auditor.hold_released',
  sinkAdded: 'auditor.sink_added',
  sinkRemoved: 'auditor.sink_removed',
} as const;

/** The user_id of every system event. */
export const SYSTEM_USER_ID = 'auditor';

export function isSystemEventType(eventType: string): boolean {
  return eventType.startsWith(SYSTEM_EVENT_PREFIX);
}

/** A system event of `eventType` recording `data`, under the name of the key that asked for it (when one did). */
export function systemEvent(eventType: string, data: unknown, keyName: string | undefined): NewEvent {
  const event: NewEvent = { userId: SYSTEM_USER_ID, eventType, dataJson: JSON.stringify(data) };
  if (keyName !== undefined) event.keyName = keyName;
  return event;
}
