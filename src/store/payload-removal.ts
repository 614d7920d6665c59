/**
 * One batch of payload removals, made in one transaction by either backend: the events at `seqs`
 * lose their data (it becomes JSON null) and their leaf's salt, and record why (`reason`), when
 * (`atMs`) and under which system event (`recordId`, an auditor.retention or auditor.erasure event
 * already in the log). The leaf keeps the data's commitment unless `pseudonym` is given: an erasure
 * of a user replaces its user_id by the pseudonym, and a commitment left beside the leaf would let a
 * guessed user_id be tested against the leaf's hash. Any Idempotency-Key record of such an event
 * goes too (it holds a digest of the event's body, unsalted).
 *
 * An event already removed is left as it is, except that an erasure of a user also takes the
 * user_id (and the commitment) of one whose payload went before. The database's triggers admit
 * these UPDATEs and no other (open-database.ts, postgres-schema.ts).
 */
export type PayloadRemoval = {
  recordId: string;
  reason: 'retention' | 'erasure';
  atMs: number;
  seqs: readonly number[];
  pseudonym: string | null;
};

/** An event's removal state as read inside the removal's transaction. */
export type RemovalState = { removal: string | null };

/**
 * Whether the removal changes this event: one that still holds its payload, always; one whose
 * payload went before (retention, an erasure by a field of data), only when an erasure of its user
 * takes its user_id (the caller finds such events by that user_id, so none bears a pseudonym yet).
 */
export function removalApplies(removal: PayloadRemoval, state: RemovalState): boolean {
  if (state.removal === null) return true;
  return removal.reason === 'erasure' && removal.pseudonym !== null;
}
