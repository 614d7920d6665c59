import { NO_KEY_NAME } from '../auth/keys-file.js';
import { HttpError } from '../http/http-error.js';
import { readPlainTextBody } from '../http/read-body.js';
import type { BodyLimits, RouteHandler } from '../http/route.js';
import { acceptCosignatures, cosignedTreeSize, CosignatureRefusal } from '../integrity/accept-cosignatures.js';
import type { EventStore } from '../store/event-store.js';
import { parseNote, type VerifierKey } from '../../verifier/signed-note.js';

/** A checkpoint with a few cosignatures is well under 1 KiB: anything much larger is not one. */
const MAX_COSIGNED_BYTES = 16 * 1024;

/**
 * POST /checkpoint/cosignatures: a witness posts a checkpoint of this log as GET /checkpoint
 * served it, with its cosignature line appended. The lines by witnesses in AUDITOR_WITNESS_KEYS
 * that verify over a checkpoint this log signed are kept, and served with it from then on.
 */
export function createPostCosignaturesRoute(store: EventStore, bodies: BodyLimits, witnessKeys: readonly VerifierKey[], clock = Date.now): RouteHandler {
  return async (request, { caller }) => {
    const body = await readPlainTextBody(request, Math.min(bodies.maxBytes, MAX_COSIGNED_BYTES), { budget: bodies.memory, holder: caller?.keyName ?? NO_KEY_NAME });
    try {
      const size = cosignedTreeSize(body.text);
      const signed = await store.signedCheckpoint(size);
      const accepted = acceptCosignatures(body.text, signed === undefined ? undefined : parseNote(signed.note).text, witnessKeys, clock());
      await store.saveCosignatures(size, accepted.map(({ witness, line, cosignedAt }) => ({ witness, line, cosignedAt: Number(cosignedAt) })));
      return { status: 200, body: { tree_size: size, accepted: accepted.map(({ witness }) => witness) } };
    } catch (error) {
      if (error instanceof CosignatureRefusal) throw new HttpError(error.status, error.message);
      throw error;
    } finally {
      body.release();
    }
  };
}
