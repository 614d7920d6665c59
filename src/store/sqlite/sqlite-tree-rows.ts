import Database from './sqlite-driver.js';
import { SYSTEM_EVENT_TYPES } from '../../events/system-event-types.js';
import type { RemovalRecord } from '../../integrity/removal-claims.js';
import type { ChainRow } from '../../integrity/verify-chain.js';
import type { DatabaseCheck, SeqRow, StoredCheckpointRow, StoredLeaf, TreeRows } from '../tree-rows.js';

type JoinedTuple = [
  seq: number, id: string, ts: number, userId: string, eventType: string, dataJson: string, keyName: string | null,
  chainLength: number | null, hasLeaf: 0 | 1, saltLength: number | null, hashLength: number | null, blobs: Buffer,
  removedBy: string | null, removal: string | null, dataSha256: Buffer | null,
];
type LeafTuple = [seq: number, salt: Buffer | null, hash: Buffer, nodes: Buffer];

/** How many lines of integrity_check are kept: the first few name the damage; the rest repeat it. */
const MAX_PROBLEMS = 20;

/**
 * The SQLite database at `path`, read-only. Each worker thread opens its own: a connection costs
 * next to nothing, and WAL lets every one read beside the service's writer.
 */
export function openSqliteTreeRows(path: string): TreeRows {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('query_only = ON');
  // One statement, so one snapshot: the extent of the events and of the tree agree.
  // A database from before links over leaves has no chain_over_leaves: read as null.
  const overLeaves = (db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'chain_over_leaves'").pluck().get() as number) > 0
    ? '(SELECT min(from_seq) FROM chain_over_leaves)'
    : 'NULL';
  const selectExtent = db.prepare(`
    SELECT (SELECT coalesce(max(seq), 0) FROM events) AS lastEventSeq,
      (SELECT coalesce(max(seq), 0) FROM merkle_leaves) AS lastLeafSeq,
      (SELECT min(tree_size) FROM checkpoints) AS firstCheckpointSize,
      (SELECT max(tree_size) FROM checkpoints) AS latestCheckpointSize,
      ${overLeaves} AS chainOverLeavesFrom`);
  const selectEventsBelowOne = db.prepare('SELECT seq, id FROM events WHERE seq < 1 ORDER BY seq LIMIT ?');
  const selectLeavesBelowOne = db.prepare('SELECT seq FROM merkle_leaves WHERE seq < 1 ORDER BY seq LIMIT ?').pluck();
  // An event and its leaf row in one row, its four blobs as one (with the lengths to cut it at):
  // each value read costs, a blob more than a microsecond, and reading is most of verify's work.
  // (|| makes text of blobs, byte for byte; CAST makes it a blob again.)
  // A database from before removals has none of their columns: read as nulls.
  const removals = (db.prepare("SELECT count(*) FROM pragma_table_info('events') WHERE name = 'removed_by'").pluck().get() as number) > 0
    ? 'e.removed_by, e.removal, l.data_sha256'
    : 'NULL, NULL, NULL';
  const selectEventsWithLeaves = db.prepare(`
    SELECT e.seq, e.id, e.ts, e.user_id, e.event_type, e.data, e.key_name,
      length(e.hash), l.seq IS NOT NULL, length(l.salt), length(l.hash),
      CAST(coalesce(e.hash, x'') || coalesce(l.salt, x'') || coalesce(l.hash, x'') || coalesce(l.nodes, x'') AS BLOB),
      ${removals}
    FROM events e LEFT JOIN merkle_leaves l ON l.seq = e.seq WHERE e.seq BETWEEN ? AND ? ORDER BY e.seq`).raw(true);
  const selectLeavesWithoutEvents = db.prepare(`
    SELECT seq, salt, hash, nodes FROM merkle_leaves l
    WHERE seq BETWEEN ? AND ? AND NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = l.seq) ORDER BY seq`).raw(true);
  const checkpointColumns = 'tree_size AS size, root_hash AS rootHash, note';
  const selectCheckpoints = db.prepare(`SELECT ${checkpointColumns} FROM checkpoints WHERE tree_size BETWEEN ? AND ? ORDER BY tree_size`);
  const selectCheckpoint = db.prepare(`SELECT ${checkpointColumns} FROM checkpoints WHERE tree_size = ?`);
  const selectSizesBetween = db.prepare('SELECT tree_size FROM checkpoints WHERE tree_size BETWEEN ? AND ? ORDER BY tree_size LIMIT ?').pluck();
  const selectPreviousHash = db.prepare('SELECT hash FROM events WHERE seq < ? AND seq >= 1 ORDER BY seq DESC LIMIT 1').pluck();
  // By the unique index on id; json_each takes the ids as one parameter, however many.
  const selectRemovalRecords = db.prepare(`
    SELECT id, seq, event_type AS eventType, data AS dataJson FROM events
    WHERE id IN (SELECT value FROM json_each(?)) AND event_type IN (?, ?)`);
  const selectNextSeq = db.prepare(
    'SELECT min(coalesce((SELECT min(seq) FROM events WHERE seq > ?), 9e18), coalesce((SELECT min(seq) FROM merkle_leaves WHERE seq > ?), 9e18))',
  ).pluck();

  /**
   * The rows of seqs `from` to `to`: the events with their leaves, merged with the leaves whose
   * event is gone (read first: the connection steps one statement at a time). Rows at or below
   * the tree's size never change in a log that is left alone, so the statements need not share a
   * snapshot; a writer appends beyond it.
   */
  function* seqRows(from: number, to: number): Generator<SeqRow> {
    const orphans = (selectLeavesWithoutEvents.all(from, to) as LeafTuple[]).map(([seq, salt, hash, nodes]): StoredLeaf => ({ seq, salt, hash, nodes }));
    let o = 0;
    const joined = selectEventsWithLeaves.iterate(from, to) as IterableIterator<JoinedTuple>;
    for (const [seq, id, timestampMs, userId, eventType, dataJson, keyName, chainLength, hasLeaf, saltLength, hashLength, blob, removedBy, removal, dataSha256] of joined) {
      while (orphans[o] !== undefined && orphans[o]!.seq < seq) yield { seq: orphans[o]!.seq, event: undefined, leaf: orphans[o++] };
      const salt = chainLength ?? 0;
      const hash = salt + (saltLength ?? 0);
      const nodes = hash + (hashLength ?? 0);
      const event: ChainRow = { seq, id, timestampMs, userId, eventType, dataJson, keyName, hash: chainLength === null ? null : blob.subarray(0, salt), removedBy, removal };
      const leaf = hasLeaf === 0 ? undefined : { seq, salt: saltLength === null ? null : blob.subarray(salt, hash), hash: blob.subarray(hash, nodes), nodes: blob.subarray(nodes), dataSha256 };
      yield { seq, event, leaf };
    }
    while (orphans[o] !== undefined) yield { seq: orphans[o]!.seq, event: undefined, leaf: orphans[o++] };
  }

  return {
    extent: async () => {
      const row = selectExtent.get() as { lastEventSeq: number; lastLeafSeq: number; firstCheckpointSize: number | null; latestCheckpointSize: number | null; chainOverLeavesFrom: number | null };
      return {
        lastEventSeq: row.lastEventSeq,
        lastLeafSeq: row.lastLeafSeq,
        firstCheckpointSize: row.firstCheckpointSize ?? undefined,
        latestCheckpointSize: row.latestCheckpointSize ?? undefined,
        chainOverLeavesFrom: row.chainOverLeavesFrom ?? undefined,
      };
    },
    eventsBelowOne: async (limit) => selectEventsBelowOne.all(limit) as Array<{ seq: number; id: string }>,
    leavesBelowOne: async (limit) => selectLeavesBelowOne.all(limit) as number[],
    range: async (from, to) => ({
      rows: seqRows(from, to),
      checkpoints: selectCheckpoints.all(from, to) as StoredCheckpointRow[],
      previousHash: (selectPreviousHash.get(from) as Buffer | null | undefined) ?? null,
    }),
    removalRecords: async (ids) => selectRemovalRecords.all(JSON.stringify(ids), SYSTEM_EVENT_TYPES.retention, SYSTEM_EVENT_TYPES.erasure) as RemovalRecord[],
    async nextSeqAfter(seq) {
      const next = Number(selectNextSeq.get(seq, seq));
      return next >= 9e18 ? undefined : next;
    },
    checkpoint: async (size) => selectCheckpoint.get(size) as StoredCheckpointRow | undefined,
    checkpointSizesAbove: async (size, limit) => selectSizesBetween.all(size + 1, Number.MAX_SAFE_INTEGER, limit) as number[],
    checkpointSizesBetween: async (from, to, limit) => selectSizesBetween.all(from, to, limit) as number[],
    async checkDatabase(): Promise<DatabaseCheck> {
      // integrity_check, not quick_check: only it compares every index with its table, which is
      // how an index rebuilt to skip a row (so a query by user_id never returns it) shows.
      const what = 'SQLite PRAGMA integrity_check';
      const lines = db.pragma(`integrity_check(${MAX_PROBLEMS})`, { simple: false }) as Array<{ integrity_check: string }>;
      const problems = lines.map((line) => line.integrity_check);
      return problems.length === 1 && problems[0] === 'ok' ? { kind: 'ok', what } : { kind: 'damaged', what, problems };
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
