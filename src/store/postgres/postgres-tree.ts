/**
 * The Merkle tree's stored hashes in PostgreSQL (the merkle_leaves table), as on SQLite
 * (sqlite-tree.ts): read by subtree in one round trip, and extended over events that have no
 * leaf yet.
 */
import type { ChainedFields } from '../../integrity/chain.js';
import { eventLeaf, newSalt } from '../../integrity/event-leaf.js';
import { appendLeaf, EMPTY_FRONTIER, leafHash, storedWith, subtreesOf, type Frontier, type Subtree } from '../../integrity/merkle-tree.js';
import type { LeafRow } from '../storage-backend.js';
import type { Queryable } from './postgres-bounds.js';

/** Events given leaves per transaction when a log from before the tree is brought up to date. */
const CATCH_UP_BATCH = 10_000;

const INSERT_LEAVES = `
  INSERT INTO merkle_leaves (seq, salt, hash, nodes) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bytea[])`;


/** The parameters of INSERT_LEAVES for `rows`. */
export function leafParameters(rows: readonly LeafRow[]): unknown[] {
  return [rows.map((row) => row.seq), rows.map((row) => row.salt), rows.map((row) => row.leafHash), rows.map((row) => row.nodes)];
}

export async function insertLeaves(db: Queryable, rows: readonly LeafRow[]): Promise<void> {
  if (rows.length > 0) await db.query(INSERT_LEAVES, leafParameters(rows));
}

/** The hashes of complete subtrees, in the order asked, in one round trip; throws when one is missing. */
export async function readSubtrees(db: Queryable, wanted: readonly Subtree[]): Promise<Buffer[]> {
  if (wanted.length === 0) return [];
  const places = wanted.map(storedWith);
  const { rows } = await db.query<{ seq: number; hash: Buffer; nodes: Buffer }>(
    'SELECT seq, hash, nodes FROM merkle_leaves WHERE seq = ANY($1::bigint[])',
    [places.map(({ leafIndex }) => leafIndex + 1)],
  );
  const bySeq = new Map(rows.map((row) => [Number(row.seq), row]));
  return places.map(({ leafIndex, level }, i) => {
    const row = bySeq.get(leafIndex + 1);
    const hash = row === undefined ? undefined : level === 0 ? row.hash : row.nodes.subarray((level - 1) * 32, level * 32);
    if (hash === undefined || hash.length !== 32) {
      const { index } = wanted[i]!;
      throw new Error(`the Merkle tree has no hash for leaves ${index * 2 ** level} to ${(index + 1) * 2 ** level - 1}: it is damaged`);
    }
    return hash;
  });
}

export async function readFrontier(db: Queryable, size: number): Promise<Frontier> {
  return size === 0 ? EMPTY_FRONTIER : { size, hashes: await readSubtrees(db, subtreesOf(0, size)) };
}

export async function readTreeSize(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ size: number }>('SELECT coalesce(max(seq), 0)::bigint AS size FROM merkle_leaves');
  return Number(rows[0]!.size);
}

/**
 * Gives a leaf to up to CATCH_UP_BATCH events that have none, in seq order, inside the caller's
 * transaction (which must hold the events' write lock); returns the tree after them, how many
 * leaves it made, and how many events are left without one.
 */
export async function catchUpBatch(db: Queryable): Promise<{ tree: Frontier; built: number; left: number }> {
  let tree = await readFrontier(db, await readTreeSize(db));
  const { rows: events } = await db.query<ChainedFields & { seq: number }>(
    `SELECT seq, id, ts AS "timestampMs", user_id AS "userId", event_type AS "eventType", data::text AS "dataJson", key_name AS "keyName"
     FROM events WHERE seq > $1 ORDER BY seq LIMIT ${CATCH_UP_BATCH}`,
    [tree.size],
  );
  const leaves: LeafRow[] = [];
  for (const event of events) {
    const seq = Number(event.seq);
    if (seq !== tree.size + 1) throw new Error(`the events skip from seq ${tree.size} to ${seq}: the log has a gap; run npm run verify`);
    const salt = Buffer.from(newSalt());
    const hash = leafHash(eventLeaf({ ...event, timestampMs: Number(event.timestampMs) }, salt));
    const appended = appendLeaf(tree, hash);
    tree = appended.frontier;
    leaves.push({ seq, salt, leafHash: hash, nodes: Buffer.concat(appended.completed) });
  }
  await insertLeaves(db, leaves);
  const { rows } = await db.query<{ last: number }>('SELECT coalesce(max(seq), 0)::bigint AS last FROM events');
  return { tree, built: leaves.length, left: Number(rows[0]!.last) - tree.size };
}
