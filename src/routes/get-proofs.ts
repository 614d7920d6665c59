import { HttpError } from '../http/http-error.js';
import type { RouteHandler } from '../http/route.js';
import { TreeSizeError, type EventStore } from '../store/event-store.js';
import { treeSizeParam } from './tree-size-param.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * GET /events/{id}/proof[?size=N]: the RFC 9162 inclusion proof of the event in the tree of N
 * events (by default the latest checkpoint's), with the leaf's bytes and the salt of its data, so
 * that a client holding the event rebuilds the leaf itself and checks it against a signed root.
 * Once its payload was removed the salt is null; after an erasure of its user the leaf is null
 * too, and `leaf_hash` is what the path proves; `removed` then says why, when and by which record.
 */
export function createGetEventProofRoute(store: EventStore): RouteHandler {
  return async (_request, { pathParams, params }) => {
    const id = pathParams.id!;
    const size = treeSizeParam(params, 'size');
    const proof = UUID.test(id) ? await asked(() => store.inclusionProof(id, size)) : undefined;
    if (proof === undefined) throw new HttpError(404, `No event with id ${JSON.stringify(id)}`);
    return {
      status: 200,
      body: {
        leaf_index: proof.leafIndex,
        tree_size: proof.treeSize,
        leaf: proof.leaf?.toString('base64') ?? null,
        data_salt: proof.salt?.toString('base64') ?? null,
        inclusion_path: proof.path.map((hash) => hash.toString('base64')),
        // An event erased with its user: no leaf can be rebuilt, so its hash is what is proven.
        ...(proof.leaf === null ? { leaf_hash: proof.leafHash.toString('base64') } : {}),
        ...(proof.removed === undefined ? {} : { removed: { reason: proof.removed.reason, at: new Date(proof.removed.atMs).toISOString(), by: proof.removed.by } }),
      },
    };
  };
}

/** GET /proofs/consistency?from=M&to=N: the RFC 9162 proof that the tree of M events is a prefix of the tree of N. */
export function createGetConsistencyProofRoute(store: EventStore): RouteHandler {
  return async (_request, { params }) => {
    const from = treeSizeParam(params, 'from');
    const to = treeSizeParam(params, 'to');
    if (from === undefined || to === undefined) throw new HttpError(400, 'from and to are required: the sizes of two checkpoints, such as ?from=1000&to=2000');
    const path = await asked(() => store.consistencyProof(from, to));
    return { status: 200, body: { from, to, consistency_path: path.map((hash) => hash.toString('base64')) } };
  };
}

/** What the store answers, with a size it cannot prove for made the asker's 400. */
async function asked<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof TreeSizeError) throw new HttpError(400, error.message);
    throw error;
  }
}
