import { NO_KEY_NAME } from '../auth/keys-file.js';
import { HttpError } from '../http/http-error.js';
import { readJsonBody } from '../http/read-body.js';
import type { BodyLimits, RouteHandler } from '../http/route.js';
import { eraseSubject, HeldByLegalHoldError } from '../retention/erase-subject.js';
import { MAX_REQUEST_BYTES, parseErasureRequest } from '../retention/parse-removal-requests.js';
import type { RemovalLock } from '../retention/removal-lock.js';
import type { EventStore } from '../store/event-store.js';

/**
 * POST /erasures (admin): erases a data subject (see eraseSubject) and answers once it is done,
 * `200 {"erased": <count>, "record": <id of the auditor.erasure event, or null>}`; 409 naming the
 * hold when a legal hold keeps one of its events, and then nothing is erased.
 */
export function createPostErasuresRoute(store: EventStore, bodies: BodyLimits, lock: RemovalLock, onErased?: (count: number) => void): RouteHandler {
  return async (request, { caller }) => {
    const body = await readJsonBody(request, Math.min(bodies.maxBytes, MAX_REQUEST_BYTES), { budget: bodies.memory, holder: caller?.keyName ?? NO_KEY_NAME });
    let parsed;
    try {
      parsed = parseErasureRequest(body.text);
    } finally {
      body.release();
    }
    try {
      const outcome = await eraseSubject(store, lock, { ...parsed, requestedBy: caller?.keyName });
      onErased?.(outcome.erased);
      return { status: 200, body: outcome };
    } catch (error) {
      if (error instanceof HeldByLegalHoldError) throw new HttpError(409, error.message, {}, { details: { hold: error.hold.id } });
      throw error;
    }
  };
}
