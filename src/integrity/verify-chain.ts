import { timingSafeEqual } from 'node:crypto';
import { chainHash, chainHashOverLeaf, GENESIS_HASH, type ChainedFields } from './chain.js';
import { eventLeafHash, removedEventLeafHash } from './event-leaf.js';
import { hasValidSignature, type Checkpoint } from './checkpoint.js';

/**
 * An event as verification reads it. `removedBy` and `removal` are set once retention or an erasure
 * removed its payload (see docs/design.md, "Retention and erasure on the record"); null before,
 * and left out by readers of a database from before removals.
 */
export type ChainRow = ChainedFields & {
  seq: number;
  hash: Buffer | null;
  removedBy?: string | null;
  removal?: string | null;
  /** When the payload was removed (what a copy carries; verification does not read it). */
  removedMs?: number | null;
  /**
   * Set when the event's link is taken over its leaf (chainHashOverLeaf): what its leaf row holds,
   * or null when it has none. Left out for a link over the event's canonical form (chainHash).
   */
  linkedLeaf?: LinkedLeaf | null;
};

/** What of an event's leaf row a link over the leaf is checked with (see StoredLeaf). */
export type LinkedLeaf = { salt: Buffer | null; dataSha256: Buffer | null; hash: Buffer };

export type Verdict = {
  ok: boolean;
  /** Events checked link by link. */
  chained: number;
  /** Events recorded before the chain began (schema version 2 and earlier), not covered. */
  unchained: number;
  /** The first event that breaks the chain, and why. */
  broken?: { seq: number; id: string; reason: string };
  /** What the checkpoint proved, or why it could not. */
  checkpoint?: { ok: boolean; detail: string };
};

/**
 * Recomputes the chain over `rows` (in seq order) and stops at the first event whose stored hash
 * is not the one its content and its predecessor give: an edited event, or one whose predecessor
 * was removed or moved. With a checkpoint, also checks that the log still holds exactly what the
 * checkpoint signed: nothing it covered was removed, truncated or rewritten since.
 */
export async function verifyChain(rows: Iterable<ChainRow> | AsyncIterable<ChainRow>, secret: Buffer, checkpoint?: Checkpoint): Promise<Verdict> {
  const verdict: Verdict = { ok: true, chained: 0, unchained: 0 };
  if (checkpoint !== undefined && !hasValidSignature(secret, checkpoint)) {
    verdict.ok = false;
    verdict.checkpoint = { ok: false, detail: 'its signature is not valid: it was edited, or made with another secret' };
    return verdict;
  }
  let previous: Buffer = GENESIS_HASH;
  let atCheckpoint: { chained: number; hash: string } | undefined;
  for await (const row of rows) {
    if (row.hash === null) {
      if (verdict.chained > 0) {
        verdict.broken = { seq: row.seq, id: row.id, reason: 'it has no chain hash, yet the chain began before it' };
        break;
      }
      verdict.unchained++;
      continue;
    }
    const expected = expectedLink(secret, previous, row);
    if (expected === undefined || row.hash.length !== expected.length || !timingSafeEqual(row.hash, expected)) {
      verdict.broken = {
        seq: row.seq,
        id: row.id,
        reason: 'its hash does not match: this event was altered, or an event before it was removed or moved',
      };
      break;
    }
    previous = row.hash;
    verdict.chained++;
    if (checkpoint !== undefined && row.id === checkpoint.lastId) {
      atCheckpoint = { chained: verdict.chained, hash: row.hash.toString('hex') };
    }
  }
  if (verdict.broken !== undefined) verdict.ok = false;

  if (checkpoint !== undefined && verdict.broken === undefined) {
    const covered = checkpoint.lastId === null
      ? checkpoint.eventCount === 0
      : atCheckpoint !== undefined && atCheckpoint.chained === checkpoint.eventCount && atCheckpoint.hash === checkpoint.headHash;
    verdict.checkpoint = covered
      ? { ok: true, detail: `all ${checkpoint.eventCount} events it covers are present and unchanged` }
      : {
          ok: false,
          detail: atCheckpoint === undefined
            ? `its last event ${checkpoint.lastId} is gone: events it covered were removed (the log was truncated or rewritten)`
            : `its last event is now number ${atCheckpoint.chained}, not ${checkpoint.eventCount}, or its hash differs: events it covered were removed or rewritten`,
        };
    if (!covered) verdict.ok = false;
  }
  return verdict;
}

/**
 * The link `row` must hold after `previous`; undefined when its leaf row cannot give the leaf its
 * link covers (missing, or without the salt of data still held). A link over the canonical form of
 * a removed payload cannot be recomputed: its stored hash carries the chain on (npm run verify's
 * tree check holds the removal itself to its record). A link over the leaf can: the leaf is
 * rebuilt from the data's commitment kept where the salt was, or, after an erasure of the user,
 * which drops the commitment, taken as stored (the tree and its signed checkpoints hold it).
 */
function expectedLink(secret: Buffer, previous: Buffer, row: ChainRow): Buffer | undefined {
  const leaf = row.linkedLeaf;
  if (leaf === undefined) return row.removedBy != null ? row.hash! : chainHash(secret, previous, row);
  if (leaf === null) return undefined;
  try {
    if (leaf.salt !== null) return chainHashOverLeaf(secret, previous, eventLeafHash(row, leaf.salt));
    if (row.removedBy == null) return undefined;
    return chainHashOverLeaf(secret, previous, leaf.dataSha256 === null ? leaf.hash : removedEventLeafHash(row, leaf.dataSha256));
  } catch {
    return undefined; // fields no leaf can hold (a negative timestamp): edited
  }
}
