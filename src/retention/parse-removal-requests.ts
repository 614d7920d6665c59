import { parseFieldPath } from '../events/field-path.js';
import { MAX_NAME_LENGTH } from '../events/parse-new-event.js';
import { parseInstant } from '../events/parse-instant.js';
import { unstorableTextReason } from '../events/storable-data.js';
import { HttpError } from '../http/http-error.js';
import { parseJsonBody } from '../http/parse-json.js';
import type { ErasureSubject } from './erase-subject.js';
import type { PseudonymOf } from './pseudonym.js';
import type { HoldScope } from './legal-hold.js';

/** A request to erase, hold or release is a few hundred bytes: anything much larger is not one. */
export const MAX_REQUEST_BYTES = 16 * 1024;

/** Longest `reason` of an erasure, a hold or a release: a sentence and a case number, not a document. */
export const MAX_REASON_LENGTH = 1000;

/**
 * POST /erasures: `{"user_id": "…"}` or `{"data": {"<field>": <value>}}` (one field, its dotted
 * path; a string, number or boolean, matched as a data filter matches it), and an optional
 * `reason`. Anything else is a 400 that says what is wrong.
 */
export function parseErasureRequest(body: string): { subject: ErasureSubject; reason: string | null } {
  const value = requireObject(parseJsonBody(body), 'The request body', 'with user_id or data, and an optional reason');
  onlyMembers(value, ['user_id', 'data', 'reason']);
  const reason = optionalReason(value);
  if ((value.user_id === undefined) === (value.data === undefined)) {
    throw new HttpError(400, 'name the data subject by exactly one of user_id (a user) or data (one field of data and its value)');
  }
  if (value.user_id !== undefined) return { subject: { kind: 'user', userId: requireText(value.user_id, 'user_id') }, reason };
  const data = requireObject(value.data, 'data', 'naming one field and its value, such as {"email": "ada@example.com"}');
  const entries = Object.entries(data);
  if (entries.length !== 1) throw new HttpError(400, `data must name exactly one field, not ${entries.length}`);
  const [field, fieldValue] = entries[0]!;
  const path = parseFieldPath(field);
  if (path === undefined) throw new HttpError(400, `data: "${field}" is not a field name (a dotted path such as address.city)`);
  if (typeof fieldValue === 'string') return { subject: { kind: 'data', field, path, value: requireText(fieldValue, `data.${field}`) }, reason };
  if (typeof fieldValue === 'number' || typeof fieldValue === 'boolean') {
    return { subject: { kind: 'data', field, path, value: JSON.stringify(fieldValue) }, reason };
  }
  throw new HttpError(400, `data.${field} must be a string, a number or a boolean`);
}

/**
 * POST /holds: exactly one of `{"user_id": "…"}`, `{"event_type": "…"}` or `{"since": …,
 * "until": …}` (ISO 8601 instants, since before until), and a `reason`, required: a hold is
 * placed for a matter someone must be able to name. A user is kept by pseudonym (see LegalHold).
 */
export function parseHoldRequest(body: string, pseudonymOf: PseudonymOf): { scope: HoldScope; reason: string } {
  const value = requireObject(parseJsonBody(body), 'The request body', 'with one of user_id, event_type or since and until, and a reason');
  onlyMembers(value, ['user_id', 'event_type', 'since', 'until', 'reason']);
  const reason = optionalReason(value);
  if (reason === null) throw new HttpError(400, 'reason is required: say which matter the hold is for');
  const kinds = [value.user_id !== undefined, value.event_type !== undefined, value.since !== undefined || value.until !== undefined].filter(Boolean).length;
  if (kinds !== 1) throw new HttpError(400, 'a hold names exactly one of user_id, event_type, or a time range (since and until)');
  if (value.user_id !== undefined) {
    return { scope: { kind: 'user', pseudonym: pseudonymOf({ field: 'user_id', value: requireText(value.user_id, 'user_id') }) }, reason };
  }
  if (value.event_type !== undefined) return { scope: { kind: 'event_type', eventType: requireText(value.event_type, 'event_type') }, reason };
  const sinceMs = requireInstant(value.since, 'since');
  const untilMs = requireInstant(value.until, 'until');
  if (sinceMs >= untilMs) throw new HttpError(400, 'since must be before until');
  return { scope: { kind: 'time', sinceMs, untilMs }, reason };
}

/** DELETE /holds/{id}: an optional body `{"reason": "…"}` (an empty body gives none). */
export function parseReleaseRequest(body: string): { reason: string | null } {
  if (body.trim() === '') return { reason: null };
  const value = requireObject(parseJsonBody(body), 'The request body', 'with an optional reason');
  onlyMembers(value, ['reason']);
  return { reason: optionalReason(value) };
}

function requireObject(value: unknown, subject: string, shape: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, `${subject} must be a JSON object ${shape}`);
  return value as Record<string, unknown>;
}

function onlyMembers(value: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(value).find((name) => !allowed.includes(name));
  if (unknown !== undefined) throw new HttpError(400, `Unknown property "${unknown}": expected ${allowed.join(', ')}`);
}

function optionalReason(value: Record<string, unknown>): string | null {
  if (value.reason === undefined || value.reason === null) return null;
  if (typeof value.reason !== 'string') throw new HttpError(400, 'reason must be a string');
  if (value.reason.length > MAX_REASON_LENGTH) throw new HttpError(400, `reason must be at most ${MAX_REASON_LENGTH} characters`);
  const unstorable = unstorableTextReason(value.reason);
  if (unstorable !== undefined) throw new HttpError(400, `reason ${unstorable}`);
  return value.reason;
}

function requireText(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new HttpError(400, `${name} must be a string`);
  if (value === '') throw new HttpError(400, `${name} must not be empty`);
  if (value.length > MAX_NAME_LENGTH) throw new HttpError(400, `${name} must be at most ${MAX_NAME_LENGTH} characters`);
  const unstorable = unstorableTextReason(value);
  if (unstorable !== undefined) throw new HttpError(400, `${name} ${unstorable}`);
  return value;
}

function requireInstant(value: unknown, name: string): number {
  const ms = typeof value === 'string' ? parseInstant(value) : undefined;
  if (ms === undefined) throw new HttpError(400, `${name} must be an ISO 8601 instant such as 2026-01-01T00:00:00Z`);
  return ms;
}
