import { HttpError } from '../http/http-error.js';
import type { RouteHandler } from '../http/route.js';
import { textReply } from '../http/text-reply.js';
import type { EventStore } from '../store/event-store.js';
import { treeSizeParam } from './tree-size-param.js';

/**
 * GET /checkpoint[?size=N]: the latest signed checkpoint of the Merkle tree (or the one signed at
 * exactly N events) as a C2SP signed note, the log's signature line first, then any witnesses'
 * cosignatures of it: exactly the bytes that were signed, for anyone to check with the log's key.
 */
export function createGetCheckpointRoute(store: EventStore): RouteHandler {
  return async (_request, { params }) => {
    const size = treeSizeParam(params, 'size');
    const checkpoint = await store.signedCheckpoint(size);
    if (checkpoint === undefined) {
      const latest = await store.signedCheckpoint();
      throw new HttpError(404, `No checkpoint was signed at size ${size}; the latest is of size ${latest?.size ?? 0} (GET /checkpoint)`);
    }
    return textReply(checkpoint.note + checkpoint.cosignatures.join(''));
  };
}

/** GET /checkpoint/key: the verifier key of the log's checkpoints, `<origin>+<key ID>+<key>`. */
export function createGetCheckpointKeyRoute(store: EventStore): RouteHandler {
  return async () => textReply(`${store.verifierKey}\n`);
}
