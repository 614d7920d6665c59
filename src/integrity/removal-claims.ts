/**
 * How `npm run verify` holds each removed payload to the record that allowed it. A chunk of the log
 * (tree-chunk.ts) sees the removed events in its range, but a record is often in a later chunk than
 * what it removed; so each chunk sums up what its removed events claim, per record they name (a few
 * numbers and names each, however many events), and its worker looks those records up by id
 * wherever they are (settleClaims). Nothing of them reaches the main thread but findings: verify's
 * memory stays the same however many records the log holds (a retention run a minute makes half a
 * million a year), and a record appended after verify read the log's extent is found too.
 */
import { isSystemEventType, SYSTEM_EVENT_TYPES } from '../events/system-event-types.js';
import type { ChunkResult } from './tree-chunk.js';
import type { Finding } from './tree-finding.js';

/** What a chunk's events removed under one record claim of it. */
export type RemovalClaim = {
  recordId: string;
  /** 'retention' or 'erasure', as the events say. */
  removal: string;
  count: number;
  /** The first of them (named in a finding) and the last (the record must come after it). */
  firstSeq: number;
  firstId: string;
  lastSeq: number;
  /** The latest time among them, per event type: retention holds each to its type's cutoff. */
  latestByType: Record<string, number>;
  /** Their user_ids, the first few distinct ones: an erasure of a user leaves its pseudonym alone. */
  userIds: string[];
  /** How many keep no commitment of their data in their leaf (only an erasure of a user drops it). */
  withoutCommitment: number;
};

/** An auditor.retention or auditor.erasure event as a chunk found it. */
export type RemovalRecord = { id: string; seq: number; eventType: string; dataJson: string };

/** What a removed event brings to its record's claim. */
export type RemovedEvent = {
  seq: number;
  id: string;
  timestampMs: number;
  userId: string;
  eventType: string;
  removedBy: string;
  removal: string;
  hasCommitment: boolean;
};

const MAX_USER_IDS = 4;

/** Adds `event` to the claim of its record in `claims`. */
export function addClaim(claims: Map<string, RemovalClaim>, event: RemovedEvent): void {
  mergeClaim(claims, {
    recordId: event.removedBy, removal: event.removal, count: 1, firstSeq: event.seq, firstId: event.id, lastSeq: event.seq,
    latestByType: { [event.eventType]: event.timestampMs }, userIds: [event.userId], withoutCommitment: event.hasCommitment ? 0 : 1,
  });
}

/** Adds `claim` (one event's) to the claim `claims` keeps for its record. */
export function mergeClaim(claims: Map<string, RemovalClaim>, claim: RemovalClaim): void {
  const into = claims.get(claim.recordId);
  if (into === undefined) {
    claims.set(claim.recordId, { ...claim, latestByType: { ...claim.latestByType }, userIds: [...claim.userIds] });
    return;
  }
  if (claim.firstSeq < into.firstSeq) Object.assign(into, { firstSeq: claim.firstSeq, firstId: claim.firstId });
  into.lastSeq = Math.max(into.lastSeq, claim.lastSeq);
  into.count += claim.count;
  into.withoutCommitment += claim.withoutCommitment;
  // Two kinds of removal named under one record: the claim says so, and the check finds it.
  if (into.removal !== claim.removal && !into.removal.split('+').includes(claim.removal)) into.removal = `${into.removal}+${claim.removal}`;
  for (const [type, ts] of Object.entries(claim.latestByType)) into.latestByType[type] = Math.max(into.latestByType[type] ?? ts, ts);
  for (const userId of claim.userIds) if (into.userIds.length < MAX_USER_IDS && !into.userIds.includes(userId)) into.userIds.push(userId);
}

/**
 * Holds `result`'s claims to their records: those among the chunk's own events, and the others as
 * `lookUp` finds them by id. What is wrong goes to the chunk's findings, through `found` (which
 * caps them); the claims and records are then emptied, being done with.
 */
export async function settleClaims(result: ChunkResult, lookUp: (ids: readonly string[]) => Promise<RemovalRecord[]>, found: (finding: Finding) => void): Promise<void> {
  if (result.claims.length > 0) {
    const records = new Map(result.records.map((record) => [record.id, record]));
    const elsewhere = result.claims.map((claim) => claim.recordId).filter((id) => !records.has(id));
    if (elsewhere.length > 0) for (const record of await lookUp(elsewhere)) records.set(record.id, record);
    for (const finding of checkClaims(result.claims, records)) found(finding);
  }
  result.claims = [];
  result.records = [];
}

/** Whether `eventType` is that of a record removals may name. */
export function isRemovalRecord(eventType: string): boolean {
  return eventType === SYSTEM_EVENT_TYPES.retention || eventType === SYSTEM_EVENT_TYPES.erasure;
}

/**
 * What is wrong with each claim, against the records found: none for a payload removed on the
 * record. A record must exist, be of its removal's kind and come after every event it removed; a
 * retention record's cutoff for each type must be later than every event it removed of that type;
 * an erasure of a user must have left its pseudonym on every event, and only it drops the data's
 * commitment.
 */
export function checkClaims(claims: Iterable<RemovalClaim>, records: ReadonlyMap<string, RemovalRecord>): Finding[] {
  const findings: Finding[] = [];
  for (const claim of claims) {
    const problem = claimProblem(claim, records.get(claim.recordId));
    if (problem === undefined) continue;
    const others = claim.count > 1 ? ` (with ${claim.count - 1} more events removed under it, up to seq ${claim.lastSeq})` : '';
    findings.push({ kind: 'event', reason: 'edited', seq: claim.firstSeq, id: claim.firstId, detail: `had its payload removed under ${claim.recordId}${others}, but ${problem}: the payload was cleared outside retention and erasure` });
  }
  return findings;
}

function claimProblem(claim: RemovalClaim, record: RemovalRecord | undefined): string | undefined {
  if (record === undefined || !isRemovalRecord(record.eventType)) return 'no auditor.retention or auditor.erasure event of the log has that id';
  const kind = record.eventType === SYSTEM_EVENT_TYPES.retention ? 'retention' : 'erasure';
  if (claim.removal !== kind) return `that record is an ${record.eventType} event, and the events say ${claim.removal}`;
  if (record.seq <= claim.lastSeq) return `that record (seq ${record.seq}) was written before an event it would have removed`;
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(record.dataJson) as Record<string, unknown>;
  } catch {
    return 'that record holds no readable data';
  }
  if (kind === 'retention') {
    if (claim.withoutCommitment > 0) return `${claim.withoutCommitment} of them lost the commitment of their data too, which retention keeps`;
    const byType = (data.before_by_type ?? {}) as Record<string, unknown>;
    for (const [type, latest] of Object.entries(claim.latestByType)) {
      const cutoff = Object.hasOwn(byType, type) ? byType[type] : data.default_before;
      const cutoffMs = typeof cutoff === 'string' ? Date.parse(cutoff) : Number.NaN;
      if (isSystemEventType(type)) return 'a system event is among them, and system events are never removed';
      if (!(latest < cutoffMs)) return `its policy kept ${type} events recorded at ${new Date(latest).toISOString()} (cutoff ${typeof cutoff === 'string' ? cutoff : 'none'})`;
    }
    return undefined;
  }
  if (data.subject === 'user_id') {
    const stranger = claim.userIds.find((userId) => userId !== data.pseudonym);
    return stranger === undefined ? undefined : `one of them bears the user_id "${stranger}", not the pseudonym the erasure gave its subject`;
  }
  return claim.withoutCommitment > 0 ? `${claim.withoutCommitment} of them lost the commitment of their data, which an erasure by a field of data keeps` : undefined;
}
