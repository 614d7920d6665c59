import { createHash } from 'node:crypto';
import type { NewEvent } from '../events/event.js';

/** An Idempotency-Key reused within its window for a different event: nothing was stored. */
export class IdempotencyConflictError extends Error {
  override name = 'IdempotencyConflictError';
}

/** How long an Idempotency-Key holds: a retry within it gets the original answer. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Commits between two prunings of expired keys: rare enough to cost nothing, often enough to keep the table small. */
export const PRUNE_EVERY_COMMITS = 1000;

/** What a retry must repeat to be the same request: the event, as the chain sees it. */
export function idempotencyRequestDigest(event: Pick<NewEvent, 'userId' | 'eventType' | 'dataJson'>): Buffer {
  return createHash('sha256').update(JSON.stringify([event.userId, event.eventType, event.dataJson])).digest();
}
