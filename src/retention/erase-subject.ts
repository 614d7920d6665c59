import type { EventQuery, StoredEvent } from '../events/event.js';
import { isSystemEventType } from '../events/system-event-types.js';
import type { EventStore } from '../store/event-store.js';
import { createHoldMatcher, holdsInForce, type LegalHold } from './legal-hold.js';
import { erasureRecord } from './removal-records.js';
import type { RemovalLock } from './removal-lock.js';

/** A data subject to erase: a user, or whoever a field of data names (its dotted path, and its value as a data filter spells it). */
export type ErasureSubject = { kind: 'user'; userId: string } | { kind: 'data'; field: string; path: string[]; value: string };

export type ErasureRequest = { subject: ErasureSubject; reason: string | null; requestedBy: string | undefined };

/** What an erasure did: how many events it erased, and the id of the auditor.erasure event that records it (none when it erased nothing). */
export type ErasureOutcome = { erased: number; record: string | null };

/** An event of the subject is under a legal hold: nothing was erased. */
export class HeldByLegalHoldError extends Error {
  override name = 'HeldByLegalHoldError';
  constructor(readonly hold: LegalHold) {
    super(`an event of this subject is under legal hold ${hold.id} (${hold.reason}): nothing was erased; release the hold first`);
  }
}

/** Events removed per transaction: a batch holds the write lock for a few milliseconds at most. */
export const REMOVAL_BATCH = 256;

/**
 * Erases a data subject: the payload of every one of its events, and for a user its user_id too
 * (replaced by the subject's pseudonym), after a first pass that finds them and refuses the whole
 * erasure, before anything is written, when a legal hold keeps one. The auditor.erasure record is
 * appended first, then the events before it are erased in batches: a crash in between leaves a
 * record and fewer erased events, and the same request again finishes the work (its events are
 * still found by name, and the verifier accepts them under either record). Erasing again a subject
 * already erased finds nothing and records nothing.
 */
export async function eraseSubject(store: EventStore, lock: RemovalLock, request: ErasureRequest, batchSize = REMOVAL_BATCH): Promise<ErasureOutcome> {
  const { subject } = request;
  const field = subject.kind === 'user' ? 'user_id' : `data.${subject.field}`;
  const value = subject.kind === 'user' ? subject.userId : subject.value;
  const pseudonym = store.removals.pseudonymOf({ field, value });
  const query: EventQuery = subject.kind === 'user'
    ? { userId: subject.userId, eventTypes: [], dataFilters: [], order: 'asc' }
    : { eventTypes: [], dataFilters: [{ path: subject.path, values: [subject.value] }], order: 'asc' };
  // An event whose payload went before (retention, an erasure by a field of data) still names its
  // user: erasing the user takes its user_id too.
  const erasable = (event: StoredEvent): boolean => !isSystemEventType(event.eventType) && (event.removed === undefined || subject.kind === 'user');

  return lock(async () => {
    // Holds cannot change while the lock is held; an event stored since may still fall in one's time range.
    const held = createHoldMatcher(await holdsInForce(store), store.removals.pseudonymOf);
    let found = 0;
    for await (const chunk of store.query(query)) {
      for (const event of chunk) {
        if (!erasable(event)) continue;
        const hold = held(event);
        if (hold !== undefined) throw new HeldByLegalHoldError(hold);
        found++;
      }
    }
    if (found === 0) return { erased: 0, record: null };

    const record = await store.append(erasureRecord(field, pseudonym, request.reason, request.requestedBy));
    const removal = { recordId: record.id, reason: 'erasure' as const, atMs: record.timestampMs, pseudonym: subject.kind === 'user' ? pseudonym : null };
    let erased = 0;
    let seqs: number[] = [];
    const removeBatch = async (): Promise<void> => {
      if (seqs.length > 0) erased += await store.removals.removePayloads({ ...removal, seqs });
      seqs = [];
    };
    // Read again after the record: an event of the subject stored since the first pass goes too.
    for await (const chunk of store.query({ ...query, until: record.timestampMs + 1 })) {
      for (const event of chunk) {
        if (event.seq < record.seq && erasable(event) && held(event) === undefined) seqs.push(event.seq);
        if (seqs.length >= batchSize) await removeBatch();
      }
    }
    await removeBatch();
    await store.removals.reclaimSpace();
    return { erased, record: record.id };
  });
}
