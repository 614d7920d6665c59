import { NO_KEY_NAME } from '../auth/keys-file.js';
import { HttpError } from '../http/http-error.js';
import { readJsonBody } from '../http/read-body.js';
import type { BodyLimits, RouteHandler } from '../http/route.js';
import { holdScopeJson, holdsInForce, type LegalHold } from '../retention/legal-hold.js';
import { MAX_REQUEST_BYTES, parseHoldRequest, parseReleaseRequest } from '../retention/parse-removal-requests.js';
import { holdRecord, holdReleaseRecord } from '../retention/removal-records.js';
import type { RemovalLock } from '../retention/removal-lock.js';
import type { EventStore } from '../store/event-store.js';

/** A hold as the API shows it. */
export function holdJson(hold: LegalHold): Record<string, unknown> {
  return { id: hold.id, scope: holdScopeJson(hold.scope), reason: hold.reason, placed_at: new Date(hold.placedAtMs).toISOString(), placed_by: hold.placedBy };
}

/**
 * The legal holds (admin): POST /holds places one (201, its id the id of its auditor.hold event),
 * GET /holds lists those in force, DELETE /holds/{id} releases one (200; 404 for an id that is no
 * hold in force). Placing and releasing take the removal lock, so no removal batch runs on the
 * holds it read before them.
 */
export function createLegalHoldRoutes(store: EventStore, bodies: BodyLimits, lock: RemovalLock): { place: RouteHandler; list: RouteHandler; release: RouteHandler } {
  return {
    async place(request, { caller }) {
      const body = await readJsonBody(request, Math.min(bodies.maxBytes, MAX_REQUEST_BYTES), { budget: bodies.memory, holder: caller?.keyName ?? NO_KEY_NAME });
      let parsed;
      try {
        parsed = parseHoldRequest(body.text, store.removals.pseudonymOf);
      } finally {
        body.release();
      }
      const { scope, reason } = parsed;
      const placed = await lock(() => store.append(holdRecord(scope, reason, caller?.keyName)));
      const hold: LegalHold = { id: placed.id, scope, reason, placedAtMs: placed.timestampMs, placedBy: caller?.keyName ?? null };
      return { status: 201, body: holdJson(hold), headers: { Location: `/holds/${placed.id}` } };
    },

    async list() {
      const holds = await holdsInForce(store);
      return { status: 200, body: { holds: holds.map(holdJson) } };
    },

    async release(request, { caller, pathParams }) {
      const id = pathParams.id!;
      const body = await readJsonBody(request, Math.min(bodies.maxBytes, MAX_REQUEST_BYTES), { budget: bodies.memory, holder: caller?.keyName ?? NO_KEY_NAME });
      let parsed;
      try {
        parsed = parseReleaseRequest(body.text);
      } finally {
        body.release();
      }
      const released = await lock(async () => {
        const hold = (await holdsInForce(store)).find((candidate) => candidate.id === id);
        if (hold === undefined) return undefined;
        return store.append(holdReleaseRecord(hold.id, parsed.reason, caller?.keyName));
      });
      if (released === undefined) throw new HttpError(404, `No legal hold in force with id ${JSON.stringify(id)}`);
      return { status: 200, body: { id, released_at: new Date(released.timestampMs).toISOString(), record: released.id } };
    },
  };
}
