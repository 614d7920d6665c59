import { createHmac } from 'node:crypto';

/** How every pseudonym an erasure gives a user_id begins (the database's trigger checks it). */
export const PSEUDONYM_PREFIX = 'erased-';

/** What a pseudonym is of: `user_id`, or the dotted path of a field of data; and its value. */
export type PseudonymSubject = { field: string; value: string };

/** pseudonymOf under the log's own secret (EventStore.removals). */
export type PseudonymOf = (subject: PseudonymSubject) => string;

/**
 * The keyed pseudonym of an erased data subject: `erased-` and 32 base64url characters of
 * HMAC-SHA-256 under a key derived from the chain's secret. The same subject always gets the same
 * pseudonym, so the erased events stay together (and a second erasure of the same subject finds
 * what a first one left), but nobody without the secret can tell whose they were, or test a guess.
 * `subject` names what was erased: `user_id` or a field of data, and its value.
 */
export function pseudonymOf(chainSecret: Buffer, subject: PseudonymSubject): string {
  const key = createHmac('sha256', chainSecret).update('auditor erasure pseudonyms v1').digest();
  const digest = createHmac('sha256', key).update(`${subject.field}\u0000${subject.value}`, 'utf8').digest('base64url');
  return PSEUDONYM_PREFIX + digest.slice(0, 32);
}
