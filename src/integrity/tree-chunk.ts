/**
 * One chunk of `npm run verify`: the leaves of an aligned range of seqs re-hashed from the event
 * rows, every stored hash inside the range compared with the one rebuilt, the chain links and the
 * signatures of the checkpoints signed inside it checked. Pure, so a worker thread runs it on
 * what it read, and a test on what it made.
 */
import { parseCheckpoint } from '../../verifier/checkpoint.js';
import { parseNote, verifyNoteSignature, type VerifierKey } from '../../verifier/signed-note.js';
import { isSystemEventType } from '../events/system-event-types.js';
import { PSEUDONYM_PREFIX } from '../retention/pseudonym.js';
import { GENESIS_HASH } from './chain.js';
import { removedEventLeafHash } from './event-leaf.js';
import { foldSubtrees } from './merkle-tree.js';
import { addClaim, isRemovalRecord, type RemovalClaim, type RemovalRecord } from './removal-claims.js';
import { createScratchHasher, type ScratchHasher } from './scratch-hasher.js';
import { addFinding, type Finding } from './tree-finding.js';
import type { ChainRow } from './verify-chain.js';
import type { RangeRows, StoredCheckpointRow, StoredLeaf } from '../store/tree-rows.js';

/** A rebuilt complete subtree: its hash from the events, and whether the hash stored for it is that one. */
export type RebuiltNode = { level: number; hash: Uint8Array; ok: boolean };

/** What the main thread needs of a checkpoint signed inside the chunk to finish its root. */
export type ChunkCheckpoint = {
  size: number;
  /** The root in the signed note, when the note parses and its signature verifies with the key; else why not. */
  signed: { root: Uint8Array } | { failure: string };
  /** The hash of the leaves from the chunk's start to `size`, rebuilt: the part of the root inside the chunk. */
  partialRoot: Uint8Array;
};

export type ChunkResult = {
  /** The chunk's complete subtrees, largest first: one for a whole chunk, several for the log's last. */
  subtrees: RebuiltNode[];
  /** The hashes stored with the chunk's last leaf above the chunk's level, for the main thread to compare. */
  storedAbove: Uint8Array[];
  checkpoints: ChunkCheckpoint[];
  findings: Finding[];
  /** Findings left out beyond MAX_CHUNK_FINDINGS. */
  findingsLeft: number;
  /** Events read, and of them those checked link by link, and those from before the chain began. */
  events: number;
  chained: number;
  unchained: number;
  /** Events whose payload retention removed, and those an erasure removed (each held to its record by `claims`). */
  expired: number;
  erased: number;
  /** Of the chained events, the removed ones whose link, over the canonical form of their payload, is taken as stored. */
  linksTakenAsStored: number;
  /**
   * What the chunk's removed events claim of the records they name, one claim per record, and the
   * chunk's own auditor.retention and auditor.erasure events: held to each other by the worker
   * (settleClaims in removal-claims.ts), and empty once it has.
   */
  claims: RemovalClaim[];
  records: RemovalRecord[];
  /** Set when the chunk held no row; the worker then adds the next seq that holds one, if any. */
  empty: boolean;
  nextSeq: number | undefined;
};

export type ChunkOptions = {
  key: VerifierKey;
  /** The chain's key, when it is known: each link is then checked too. */
  secret: Buffer | undefined;
  /** Events after this seq were written after the tree began, so each carries a chain hash. */
  chainRequiredAfter: number | undefined;
  /** From this seq on, each link is taken over the event's leaf (chainHashOverLeaf); undefined in a database from before. */
  chainOverLeavesFrom: number | undefined;
};

type Mismatch = { event: ChainRow; salt: Buffer; stored: Buffer };

export const MAX_CHUNK_FINDINGS = 1000;
/** Events of a chunk that do not match their leaf, among which a moved one is looked for (each against each). */
const MAX_REORDER_CANDIDATES = 64;
const PLACEHOLDER = new Uint8Array(32);

/** Seqs `from` to `to` (inclusive): leaves `from - 1` onwards, at most 2^level of them, `from - 1` a multiple of 2^level. */
export type ChunkRange = { from: number; to: number; level: number };

export function checkChunk({ from, to, level }: ChunkRange, rows: RangeRows, options: ChunkOptions): ChunkResult {
  const findings: Finding[] = [];
  let findingsLeft = 0;
  const found = (finding: Finding): void => {
    if (findings.length < MAX_CHUNK_FINDINGS) addFinding(findings, finding);
    else findingsLeft++;
  };
  const hasher = createScratchHasher(options.secret);
  const stack: RebuiltNode[] = [];
  const checkpoints: ChunkCheckpoint[] = [];
  const mismatched: Mismatch[] = [];
  let storedAbove: Uint8Array[] = [];
  let previousHash = rows.previousHash;
  let events = 0;
  let chained = 0;
  let unchained = 0;
  let expired = 0;
  let erased = 0;
  let linksTakenAsStored = 0;
  const claims = new Map<string, RemovalClaim>();
  const records: RemovalRecord[] = [];
  let c = 0;

  const append = (seq: number, hash: Uint8Array, ok: boolean, nodes: Buffer | undefined): void => {
    // As appendLeaf does, comparing each subtree the leaf completes with the one stored.
    let node: RebuiltNode = { level: 0, hash, ok };
    for (let n = seq - from; n % 2 === 1; n = Math.floor(n / 2)) {
      const left = stack.pop()!;
      const rebuilt = hasher.nodeHash(left.hash, node.hash);
      const stored = storedNode(nodes, node.level + 1);
      const matches = stored !== undefined && same(rebuilt, stored);
      if (!matches && stored !== undefined && left.ok && node.ok) {
        const width = 2 ** (node.level + 1);
        found({ kind: 'other', reason: 'rewritten', detail: `the stored hash of leaves ${seq - width} to ${seq - 1} is not the hash of the two below it: the tree's nodes were changed` });
      }
      node = { level: node.level + 1, hash: rebuilt, ok: matches };
    }
    stack.push(node);
    if (seq === to && nodes !== undefined) storedAbove = splitHashes(nodes.subarray(level * 32));
    for (let checkpoint = rows.checkpoints[c]; checkpoint !== undefined && checkpoint.size <= seq; checkpoint = rows.checkpoints[++c]) {
      if (checkpoint.size === seq) checkpoints.push({ size: seq, signed: signedRoot(checkpoint, options.key, found), partialRoot: foldSubtrees(stack.map((s) => Buffer.from(s.hash))) });
    }
  };
  /** Seqs with neither an event nor a leaf: each takes a leaf that matches nothing. */
  const missing = (first: number, last: number): void => {
    if (first > last) return;
    found({ kind: 'run', reason: 'deleted', run: 'missing', from: first, to: last });
    for (let seq = first; seq <= last; seq++) append(seq, PLACEHOLDER, false, undefined);
  };

  let expected = from;
  for (const { seq, event, leaf } of rows.rows) {
    missing(expected, seq - 1);
    expected = seq + 1;
    let hash: Uint8Array = PLACEHOLDER;
    let ok = false;
    if (event !== undefined && leaf !== undefined && event.removedBy != null) {
      const removed = checkRemoved(event, leaf, found);
      hash = removed.hash;
      ok = removed.ok;
      if (event.removal === 'erasure') erased++;
      else expired++;
      addClaim(claims, {
        seq, id: event.id, timestampMs: event.timestampMs, userId: event.userId, eventType: event.eventType,
        removedBy: event.removedBy, removal: String(event.removal), hasCommitment: leaf.dataSha256 != null,
      });
    } else if (event !== undefined && leaf !== undefined) {
      if (leaf.salt === null) {
        found({ kind: 'event', reason: 'edited', seq, id: event.id, detail: 'has a leaf without the salt of its data, so its data cannot be checked: the leaf row was changed' });
      } else {
        const rebuilt = leafOf(hasher, event, leaf.salt);
        if (rebuilt === undefined) {
          found({ kind: 'event', reason: 'edited', seq, id: event.id, detail: 'has fields no leaf can hold (a negative timestamp): it was changed' });
        } else {
          hash = rebuilt;
          ok = same(hash, leaf.hash);
          if (!ok) mismatched.push({ event, salt: leaf.salt, stored: leaf.hash });
        }
      }
    } else if (event !== undefined) {
      found({ kind: 'run', reason: 'inserted', run: 'event-without-leaf', from: seq, to: seq });
    } else {
      found({ kind: 'run', reason: 'deleted', run: 'leaf-without-event', from: seq, to: seq });
    }

    if (event !== undefined) {
      events++;
      if (isRemovalRecord(event.eventType)) records.push({ id: event.id, seq, eventType: event.eventType, dataJson: event.dataJson });
      const link = checkLink(hasher, event, previousHash, hash, options);
      if (link === 'chained') chained++;
      else if (link === 'taken as stored') {
        chained++;
        linksTakenAsStored++;
      } else if (link === 'unchained') unchained++;
      else found(link);
      previousHash = event.hash;
    }
    if (leaf !== undefined) {
      const completes = trailingOnes(seq - 1);
      if (leaf.nodes.length !== completes * 32) {
        found({ kind: 'other', reason: 'rewritten', detail: `the leaf row of seq ${seq} holds ${leaf.nodes.length / 32} subtree hashes where its place completes ${completes}: the tree's rows were changed or moved` });
      }
    }
    append(seq, hash, ok, leaf?.nodes);
  }
  missing(expected, to);
  for (const finding of movedEvents(hasher, mismatched)) found(finding);

  return {
    subtrees: stack, storedAbove, checkpoints, findings, findingsLeft, events, chained, unchained, expired, erased, linksTakenAsStored,
    claims: [...claims.values()], records, empty: expected === from, nextSeq: undefined,
  };
}

/**
 * The leaf of an event whose payload was removed, and whether the stored one is it: rebuilt from
 * its fields and the data's commitment kept in the salt's place; or, after an erasure of its user
 * (which drops the commitment, see docs/design.md), the stored hash taken as it is, the tree's
 * nodes and the signed checkpoints above it still checking it. What cannot be a removal the
 * service made is a finding; whether its record allowed it is checked later (removal-claims.ts).
 */
function checkRemoved(event: ChainRow, leaf: StoredLeaf, found: (finding: Finding) => void): { hash: Uint8Array; ok: boolean } {
  const { seq, id } = event;
  const edited = (detail: string): void => found({ kind: 'event', reason: 'edited', seq, id, detail });
  if (isSystemEventType(event.eventType)) edited('is a system event marked as removed: system events are never removed');
  if (event.dataJson !== 'null') edited('is marked as removed but still holds data');
  if (leaf.salt !== null) edited('is marked as removed but its leaf still holds the salt of its data');
  const commitment = leaf.dataSha256;
  if (commitment == null) {
    if (event.removal !== 'erasure' || !event.userId.startsWith(PSEUDONYM_PREFIX)) {
      edited('is marked as removed without the commitment of its data, which only an erasure of its user drops');
    }
    return { hash: leaf.hash, ok: true };
  }
  let rebuilt: Buffer | undefined;
  try {
    rebuilt = removedEventLeafHash(event, commitment);
  } catch {
    rebuilt = undefined;
  }
  if (rebuilt === undefined || !same(rebuilt, leaf.hash)) {
    found({ kind: 'run', reason: 'edited', run: 'not-its-leaf', from: seq, to: seq, id });
    return { hash: rebuilt ?? PLACEHOLDER, ok: false };
  }
  return { hash: rebuilt, ok: true };
}

/**
 * The root a checkpoint signed, once its note verifies with the key; else why it does not. A root
 * kept beside it that differs from the signed one is a finding of its own.
 */
export function signedRoot(checkpoint: StoredCheckpointRow, key: VerifierKey, found: (finding: Finding) => void): { root: Uint8Array } | { failure: string } {
  const { size, note } = checkpoint;
  try {
    const parsed = parseNote(note);
    verifyNoteSignature(parsed, key);
    const text = parseCheckpoint(parsed.text);
    if (text.origin !== key.name) throw new Error(`its origin is "${text.origin}", not the key's name`);
    if (text.size !== size) throw new Error(`it is kept as size ${size} but signed for size ${text.size}`);
    if (!same(text.rootHash, checkpoint.rootHash)) found({ kind: 'other', reason: 'rewritten', detail: `the root hash kept beside the checkpoint of size ${size} is not the one it signed: the row was changed` });
    return { root: text.rootHash };
  } catch (error) {
    return { failure: (error as Error).message };
  }
}

/**
 * Whether the event's chain link holds: 'chained' (checked, or unchecked without the secret),
 * 'taken as stored' (see below), 'unchained' (from before the chain began), or what is wrong with
 * it. `leaf` is the event's leaf hash as rebuilt (a placeholder when it has no leaf), which a link
 * over the leaf covers.
 */
function checkLink(hasher: ScratchHasher, event: ChainRow, previousHash: Buffer | null, leaf: Uint8Array, options: ChunkOptions): 'chained' | 'taken as stored' | 'unchained' | Finding {
  const { seq, id } = event;
  const { secret, chainRequiredAfter, chainOverLeavesFrom } = options;
  const overLeaf = chainOverLeavesFrom !== undefined && seq >= chainOverLeavesFrom;
  // The link of a removed payload written over its canonical form cannot be recomputed: its stored
  // hash carries the chain on, and the removal itself is held to its record. A link over the leaf
  // can: the leaf outlives the payload.
  if (event.removedBy != null && event.hash !== null && !overLeaf) return 'taken as stored';
  if (event.hash === null) {
    if (previousHash !== null) return { kind: 'event', reason: 'edited', seq, id, detail: 'has no chain hash, yet the chain began before it: its chain hash was removed' };
    if (chainRequiredAfter !== undefined && seq > chainRequiredAfter) return { kind: 'run', reason: 'edited', run: 'no-chain-hash', from: seq, to: seq, after: chainRequiredAfter };
    return 'unchained';
  }
  if (secret === undefined) return 'chained';
  const previous = previousHash ?? GENESIS_HASH;
  const expected = overLeaf ? hasher.chainHashOverLeaf(previous, leaf) : hasher.chainHash(previous, event);
  return same(event.hash, expected) ? 'chained' : { kind: 'run', reason: 'edited', run: 'chain-broken', from: seq, to: seq, id };
}

/**
 * The events that do not match their own leaf: each is named as moved when it matches the leaf of
 * another seq of the chunk (its fields under that leaf's salt), else as edited.
 */
function movedEvents(hasher: ScratchHasher, mismatched: readonly Mismatch[]): Finding[] {
  const candidates = mismatched.length <= MAX_REORDER_CANDIDATES ? mismatched : [];
  return mismatched.map(({ event }) => {
    const home = candidates.find((other) => {
      if (other.event.seq === event.seq) return false;
      const moved = leafOf(hasher, event, other.salt);
      return moved !== undefined && same(moved, other.stored);
    });
    return home === undefined
      ? { kind: 'run', reason: 'edited', run: 'not-its-leaf', from: event.seq, to: event.seq, id: event.id }
      : { kind: 'event', reason: 'reordered', seq: event.seq, id: event.id, detail: `matches the leaf of seq ${home.event.seq}, not its own: events were moved` };
  });
}

/** The hash of the event's leaf under `salt`; undefined when its fields cannot be a leaf (encodeLeaf throws). */
function leafOf(hasher: ScratchHasher, event: ChainRow, salt: Buffer): Buffer | undefined {
  try {
    return hasher.leafHash(event, salt);
  } catch {
    return undefined;
  }
}

/** The hash stored at `level` (1 or more) among a leaf row's completed subtrees. */
function storedNode(nodes: Buffer | undefined, level: number): Buffer | undefined {
  if (nodes === undefined || nodes.length < level * 32) return undefined;
  return nodes.subarray((level - 1) * 32, level * 32);
}

function splitHashes(bytes: Buffer): Uint8Array[] {
  const hashes: Uint8Array[] = [];
  for (let at = 0; at + 32 <= bytes.length; at += 32) hashes.push(bytes.subarray(at, at + 32));
  return hashes;
}

/** How many subtrees leaf `index` completes: the ones at the end of its index in binary. */
export function trailingOnes(index: number): number {
  let count = 0;
  for (let n = index; n % 2 === 1; n = Math.floor(n / 2)) count++;
  return count;
}

/** Whether two hashes are equal (none of them is a secret: no need for a constant time). */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
