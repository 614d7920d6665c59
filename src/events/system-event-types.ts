/**
 * The event types only the service writes: the record of each retention run, erasure, legal hold
 * and release (src/retention/). A client's event may not bear one, so that the verifier and every
 * reader can take an auditor.* event as the service's own.
 */
export const SYSTEM_EVENT_PREFIX = 'auditor.';

export const SYSTEM_EVENT_TYPES = {
  retention: 'auditor.retention',
  erasure: 'auditor.erasure',
  hold: 'auditor.hold',
  holdReleased: 'auditor.hold_released',
} as const;

/** The user_id of every system event. */
export const SYSTEM_USER_ID = 'auditor';

export function isSystemEventType(eventType: string): boolean {
  return eventType.startsWith(SYSTEM_EVENT_PREFIX);
}
