/**
 * The chain walk's rows (EventReader.chainRows) as both readers select them: an event, and beside
 * it, when its link is taken over its leaf, the columns of its leaf row.
 */
import type { ChainRow } from '../integrity/verify-chain.js';

/** Columns a reader selects after the event's, from `events e LEFT JOIN merkle_leaves l` (SQL shared by both backends). */
export const LINKED_LEAF_COLUMNS = 'l.seq IS NOT NULL AS "hasLeaf", l.salt AS "leafSalt", l.data_sha256 AS "leafCommitment", l.hash AS "leafHash"';

type JoinedChainRow = ChainRow & { overLeaf: unknown; hasLeaf: unknown; leafSalt: Buffer | null; leafCommitment: Buffer | null; leafHash: Buffer | null };

/** The row as verifyChain takes it: `linkedLeaf` set when `overLeaf` is (SQLite's 1, PostgreSQL's true). */
export function chainRowOf({ overLeaf, hasLeaf, leafSalt, leafCommitment, leafHash, ...event }: JoinedChainRow): ChainRow {
  if (overLeaf === 1 || overLeaf === true) {
    event.linkedLeaf = hasLeaf === 1 || hasLeaf === true ? { salt: leafSalt, dataSha256: leafCommitment, hash: leafHash! } : null;
  }
  return event;
}
