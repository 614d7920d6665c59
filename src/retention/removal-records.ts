import type { NewEvent } from '../events/event.js';
import { SYSTEM_EVENT_TYPES, SYSTEM_USER_ID, systemEvent } from '../events/system-event-types.js';
import { holdScopeJson, type HoldScope } from './legal-hold.js';
import type { RetentionCutoffs, RetentionPolicy } from './retention-policy.js';

/**
 * The system events that put every removal, and every legal hold, on the record: each is an
 * ordinary event of the log (chained, a leaf of the Merkle tree, covered by the next checkpoint),
 * with user_id `auditor`, written before the removals it announces, so that the verifier can hold
 * every removed payload to the record that allowed it (see docs/design.md, "Retention and erasure").
 * Their data is the record's text for people and tools alike; the formats below are stable.
 */

/** What the service's own retention job writes as its key's name. */
export const RETENTION_KEY_NAME = 'auditor';

/**
 * auditor.retention: a run of the policy is about to remove the payload (data and its salt) of
 * every event older than its type's cutoff, among the events before this one, except those under a
 * legal hold. The leaf keeps the data's commitment, so each expired event can still be checked.
 */
export function retentionRecord(policy: RetentionPolicy, cutoffs: RetentionCutoffs): NewEvent {
  const data = {
    policy: policy.text,
    default_before: cutoffs.defaultBeforeMs === undefined ? null : new Date(cutoffs.defaultBeforeMs).toISOString(),
    before_by_type: Object.fromEntries([...cutoffs.beforeByType].map(([type, ms]) => [type, new Date(ms).toISOString()])),
    removes: ['data', 'salt'],
  };
  return { userId: SYSTEM_USER_ID, eventType: SYSTEM_EVENT_TYPES.retention, dataJson: JSON.stringify(data), keyName: RETENTION_KEY_NAME };
}

/**
 * auditor.erasure: the payload of every event of one data subject before this one is about to be
 * removed. `subject` names what identifies the subject (`user_id`, or `data.` and a field's path),
 * never its value; `pseudonym` is the subject's keyed pseudonym, which an erased user's events bear
 * in place of their user_id (and which then cannot be tested against their leaves: the data's
 * commitment goes too).
 */
export function erasureRecord(subject: string, pseudonym: string, reason: string | null, requestedBy: string | undefined): NewEvent {
  const removes = subject === 'user_id' ? ['data', 'salt', 'data_sha256', 'user_id'] : ['data', 'salt'];
  return systemEvent(SYSTEM_EVENT_TYPES.erasure, { subject, pseudonym, reason, removes, requested_by: requestedBy ?? null }, requestedBy);
}

/** auditor.hold: from this event on, retention skips and erasure refuses the events `scope` names. Its id is the hold's. */
export function holdRecord(scope: HoldScope, reason: string, placedBy: string | undefined): NewEvent {
  return systemEvent(SYSTEM_EVENT_TYPES.hold, { scope: holdScopeJson(scope), reason, placed_by: placedBy ?? null }, placedBy);
}

/** auditor.hold_released: the hold placed by the event `holdId` keeps nothing from this event on. */
export function holdReleaseRecord(holdId: string, reason: string | null, releasedBy: string | undefined): NewEvent {
  return systemEvent(SYSTEM_EVENT_TYPES.holdReleased, { hold: holdId, reason, released_by: releasedBy ?? null }, releasedBy);
}
