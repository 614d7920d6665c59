/**
 * The proofs as the service serves them:
 *
 *   GET /events/{id}/proof?size=N
 *     {"leaf_index": n, "tree_size": N, "leaf": "<base64>", "data_salt": "<base64, 16 bytes>",
 *      "inclusion_path": ["<base64, 32 bytes>", …]}
 *     Once the event's payload was removed (retention, erasure), "data_salt" is null; after an
 *     erasure of its user "leaf" is null too, and "leaf_hash" (base64, 32 bytes) is what the
 *     path proves; "removed" ({"reason", "at", "by"}, as on the event) says so, from services
 *     that send it.
 *   GET /proofs/consistency?from=M&to=N
 *     {"from": M, "to": N, "consistency_path": ["<base64, 32 bytes>", …]}
 *
 * Each reader throws an Error saying which member is missing or malformed.
 */
import { SALT_BYTES } from './leaf.js';
import { strictBase64 } from './signed-note.js';

/** `leaf` and `dataSalt` are null as said above; `leafHash` is there when `leaf` is not. */
export type InclusionProof = { leafIndex: number; treeSize: number; leaf: Buffer | null; leafHash: Buffer | null; dataSalt: Buffer | null; path: Buffer[]; removed?: Removal };

/** The removal a proof of a removed event states (newer services send it), as the event states it. */
export type Removal = { reason: string; at: string; by: string };

export type ConsistencyProof = { from: number; to: number; path: Buffer[] };

export function readInclusionProof(text: string): InclusionProof {
  const proof = jsonObject(text);
  const leaf = member(proof, 'leaf') === null ? null : bytes(proof, 'leaf');
  return {
    leafIndex: size(proof, 'leaf_index'),
    treeSize: size(proof, 'tree_size'),
    leaf,
    leafHash: leaf === null ? bytes(proof, 'leaf_hash', 32) : null,
    dataSalt: member(proof, 'data_salt') === null ? null : bytes(proof, 'data_salt', SALT_BYTES),
    path: hashes(proof, 'inclusion_path'),
    ...(Object.hasOwn(proof, 'removed') ? { removed: removal(proof) } : {}),
  };
}

function removal(proof: Members): Removal {
  const value = proof.removed as Record<string, unknown> | null;
  if (typeof value !== 'object' || value === null || ['reason', 'at', 'by'].some((name) => typeof value[name] !== 'string')) {
    throw new Error('its "removed" is not an object of reason, at and by');
  }
  return { reason: value.reason as string, at: value.at as string, by: value.by as string };
}

export function readConsistencyProof(text: string): ConsistencyProof {
  const proof = jsonObject(text);
  return { from: size(proof, 'from'), to: size(proof, 'to'), path: hashes(proof, 'consistency_path') };
}

type Members = Record<string, unknown>;

function jsonObject(text: string): Members {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`it is not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('it is not a JSON object');
  return value as Members;
}

function member(proof: Members, name: string): unknown {
  if (!Object.hasOwn(proof, name)) throw new Error(`it has no "${name}" member`);
  return proof[name];
}

function size(proof: Members, name: string): number {
  const value = member(proof, name);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`its "${name}" is not a whole number`);
  return value;
}

function bytes(proof: Members, name: string, length?: number): Buffer {
  const value = member(proof, name);
  const decoded = typeof value === 'string' ? strictBase64(value) : undefined;
  if (decoded === undefined || decoded.length === 0) throw new Error(`its "${name}" is not base64`);
  if (length !== undefined && decoded.length !== length) throw new Error(`its "${name}" is ${decoded.length} bytes, not ${length}`);
  return decoded;
}

function hashes(proof: Members, name: string): Buffer[] {
  const value = member(proof, name);
  if (!Array.isArray(value)) throw new Error(`its "${name}" is not an array`);
  return value.map((hash: unknown, i) => {
    const decoded = typeof hash === 'string' ? strictBase64(hash) : undefined;
    if (decoded === undefined || decoded.length !== 32) throw new Error(`its "${name}"[${i}] is not the base64 of a 32-byte hash`);
    return decoded;
  });
}
