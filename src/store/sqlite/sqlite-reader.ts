import { statSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from './sqlite-driver.js';
import type { ChainRow } from '../../integrity/verify-chain.js';
import { chainRowOf, LINKED_LEAF_COLUMNS } from '../chain-rows.js';
import { SINK_COLUMNS, sinkRowOf } from '../sink-rows.js';
import type { IndexedField } from '../indexed-fields.js';
import { EVENT_COLUMNS, rowSize, type Chunk, type EventRow } from '../read-in-chunks.js';
import { seqBoundSql } from '../seq-of-time.js';
import type { ChainExtent, CopiedLeafRow, EventReader, IdempotencyRecord, LeafSource, RemovalCandidate, StoredCheckpoint } from '../storage-backend.js';
import { countableInIndexes, createGroupCounter } from '../summary-groups.js';
import { buildEventQuerySql, buildSummarySql } from './event-query-sql.js';
import { openDatabase } from './open-database.js';
import { countGroupsInIndexes } from './sqlite-group-counts.js';
import { createPlanReads, planSqliteQuery, QUERY_PLANNING, type PlanReads, type SqlitePlan } from './sqlite-query-plan.js';
import { createSqliteTree, type SqliteTree } from './sqlite-tree.js';

/** Distinct query shapes whose prepared statements are kept. */
const STATEMENT_CACHE_SIZE = 64;

const CHAIN_COLUMNS = 'seq, id, ts AS timestampMs, user_id AS userId, event_type AS eventType, data AS dataJson, key_name AS keyName, hash';

/**
 * The events of the SQLite database at `path`, read through `db`, a connection that only reads:
 * WAL lets it read beside the writer, and better-sqlite3 reads synchronously, fast enough that each
 * chunk is one statement stepped on this thread. `fields` are the declared fields whose indexes
 * queries may read through (see sqlite-field-indexes.ts); `planning`, the planner's sizes.
 */
export function createSqliteReader(db: Database.Database, path: string, fields: readonly IndexedField[] = [], planning = QUERY_PLANNING): EventReader {
  const statements = new Map<string, Database.Statement>();
  const prepareQuery = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
      statement = db.prepare(sql).raw(true);
      statements.set(sql, statement);
    }
    return statement;
  };
  // Prepared on first use, as the tree's are: a command-line tool may open a database from before them.
  let planReadsMade: PlanReads | undefined;
  const planReads = (): PlanReads => (planReadsMade ??= createPlanReads(db, prepareQuery));
  const selectById = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`).raw(true);
  const selectLast = db.prepare('SELECT seq, id, hash FROM events WHERE hash IS NOT NULL ORDER BY seq DESC LIMIT 1');
  const selectFirst = db.prepare('SELECT seq FROM events WHERE hash IS NOT NULL ORDER BY seq LIMIT 1').pluck();
  // Both read in one snapshot, so the first and the last agree however the writer moves on.
  const readExtent = db.transaction((): ChainExtent | undefined => {
    const last = selectLast.get() as { seq: number; id: string; hash: Buffer } | undefined;
    return last === undefined ? undefined : { firstSeq: selectFirst.get() as number, lastSeq: last.seq, lastId: last.id, lastHash: last.hash };
  });

  // Prepared on first use: a command-line tool may open a database from before the tree.
  let tree: SqliteTree | undefined;
  let treeSql: ReturnType<typeof prepareTreeStatements> | undefined;
  const treeStatements = () => (treeSql ??= prepareTreeStatements(db));
  let removalSql: ReturnType<typeof prepareRemovalStatements> | undefined;
  const removals = () => (removalSql ??= prepareRemovalStatements(db));

  return {
    readChunks(query) {
      // Planned at the first chunk, so that a query is planned when it is read, not when it is made.
      let plan: SqlitePlan | undefined;
      let following: { statement: Database.Statement; params: Record<string, string | number> } | undefined;
      return (afterTs, afterSeq, limit, maxSize) => {
        if (plan === undefined) {
          plan = planSqliteQuery(query, fields, planReads(), planning);
          // The first chunk of a user's answer from its start is read without the keyset condition,
          // which holds for every row there: comparing each row cost a typical user's answer (80
          // events, at 50 connections) about 6% of its CPU time.
          if (plan.path.kind === 'user' && query.after === undefined) {
            const first = buildEventQuerySql(query, plan.path, true);
            return readRows(prepareQuery(first.sql), { ...first.params, limit }, maxSize);
          }
        }
        if (following === undefined) {
          const { sql, params } = buildEventQuerySql(query, plan.path);
          following = { statement: prepareQuery(sql), params };
        }
        const { statement, params } = following;
        if (!plan.windowed) return readRows(statement, { ...params, fromSeq: plan.fromSeq, toSeq: plan.toSeq, afterTs, afterSeq, limit }, maxSize);
        // One window of seqs after the keyset position, in the query's direction: a scan that
        // finds little lets other requests run between its windows (see readInChunks).
        const end = Math.min(plan.toSeq, planReads().newestSeq() + 1);
        const [fromSeq, toSeq] = query.order === 'desc'
          ? [Math.max(plan.fromSeq, Math.min(afterSeq, end) - planning.scanWindow), Math.min(afterSeq, end)]
          : [Math.max(plan.fromSeq, afterSeq + 1), Math.min(end, Math.max(plan.fromSeq, afterSeq + 1) + planning.scanWindow)];
        const chunk = readRows(statement, { ...params, fromSeq, toSeq, afterTs, afterSeq, limit }, maxSize);
        if (chunk.rows.length < limit && !chunk.stoppedAtSize) {
          const more = query.order === 'desc' ? fromSeq > plan.fromSeq : toSeq < end;
          if (more) chunk.resumeAfterSeq = query.order === 'desc' ? fromSeq : toSeq - 1;
        }
        return chunk;
      };
    },
    async summarize(query, groupBy) {
      const counter = createGroupCounter(groupBy, query.order);
      const plan = planSqliteQuery(query, fields, planReads(), planning);
      // By user, a seek per user of the whole log costs more than reading a short range's rows.
      const events = Math.min(plan.toSeq, planReads().newestSeq() + 1) - plan.fromSeq;
      if (countableInIndexes(query, groupBy) && (groupBy === 'event_type' || events > planning.userCountsFromEvents)) {
        await countGroupsInIndexes(db, query, groupBy, counter);
        return counter.summary();
      }
      const { sql, params } = buildSummarySql(query, groupBy, plan.path);
      const statement = prepareQuery(sql);
      const count = (fromSeq: number, toSeq: number) => {
        for (const [key, n] of statement.iterate({ ...params, fromSeq, toSeq }) as IterableIterator<[string | number, number]>) counter.add(key, n);
      };
      if (!plan.windowed) {
        count(plan.fromSeq, plan.toSeq);
        return counter.summary();
      }
      const end = Math.min(plan.toSeq, planReads().newestSeq() + 1);
      for (let from = plan.fromSeq; from < end; from += planning.scanWindow) {
        count(from, Math.min(end, from + planning.scanWindow));
        await nextTurn(); // between windows, other requests run
      }
      return counter.summary();
    },
    get: async (id) => selectById.get(id) as EventRow | undefined,
    chainExtent: async () => readExtent(),
    // One statement stepped to the end, which holds the connection meanwhile: for the command-line
    // tools, which have one of their own. A walk that stops early resets the statement.
    async *chainRows(afterSeq = 0) {
      // A database from before links over leaves (or before removals) has none of their columns
      // (a tool reads it as it is); one with links over leaves has both, and its tree.
      const has = (sql: string) => (db.prepare(sql).pluck().get() as number) > 0;
      if (has("SELECT count(*) FROM sqlite_schema WHERE name = 'chain_over_leaves'")) {
        const joined = db.prepare(`
          SELECT e.seq, e.id, e.ts AS timestampMs, e.user_id AS userId, e.event_type AS eventType, e.data AS dataJson,
            e.key_name AS keyName, e.hash, e.removed_by AS removedBy, e.removal, e.removed_ms AS removedMs,
            e.seq >= (SELECT min(from_seq) FROM chain_over_leaves) AS overLeaf, ${LINKED_LEAF_COLUMNS}
          FROM events e LEFT JOIN merkle_leaves l ON l.seq = e.seq WHERE e.seq > ? ORDER BY e.seq`);
        for (const row of joined.iterate(afterSeq)) yield chainRowOf(row as Parameters<typeof chainRowOf>[0]);
        return;
      }
      const removals = has("SELECT count(*) FROM pragma_table_info('events') WHERE name = 'removed_by'");
      const columns = `${CHAIN_COLUMNS}, ${removals ? 'removed_by AS removedBy, removal' : 'NULL AS removedBy, NULL AS removal'}`;
      yield* db.prepare(`SELECT ${columns} FROM events WHERE seq > ? ORDER BY seq`).iterate(afterSeq) as IterableIterator<ChainRow>;
    },
    async sizeBytes() {
      let bytes = 0;
      for (const file of [path, `${path}-wal`]) {
        // no WAL right after a checkpoint (or an in-memory database): nothing to add
        bytes += statSync(file, { throwIfNoEntry: false })?.size ?? 0;
      }
      return bytes;
    },
    treeSize: async () => (tree ??= createSqliteTree(db)).size(),
    subtrees: async (wanted) => (tree ??= createSqliteTree(db)).subtrees(wanted),
    nextTypeWithPayload: async (after) => removals().nextType.get(after) as string | null ?? undefined,
    async payloadsRecordedBefore(eventType, beforeMs, afterSeq, limit) {
      return removals().recordedBefore.all({ type: eventType, before: beforeMs, afterSeq, limit }) as RemovalCandidate[];
    },
    leafSource: async (id) => treeStatements().selectLeafSource.get(id) as LeafSource | undefined,
    // Prepared on each call: a command-line tool may open a database from before the sinks.
    sinks: async () => (db.prepare(`SELECT ${SINK_COLUMNS.join(', ')} FROM sinks ORDER BY created_ms, id`).all() as Array<Record<string, unknown>>).map(sinkRowOf),
    async checkpoint(size) {
      const { selectCheckpoint, selectLatestCheckpoint, selectCosignatures } = treeStatements();
      const row = (size === undefined ? selectLatestCheckpoint.get() : selectCheckpoint.get(size)) as Omit<StoredCheckpoint, 'cosignatures'> | undefined;
      if (row === undefined) return undefined;
      return { ...row, cosignatures: selectCosignatures.all(row.size) as string[] };
    },
    async close() {
      if (db.open) db.close();
    },
  };
}

/**
 * Steps `statement` row by row rather than reading it with all(), so that no more than maxSize (and
 * one event) is ever loaded, however large the events are.
 */
function readRows(statement: Database.Statement, params: Record<string, string | number>, maxSize: number): Chunk {
  const rows: EventRow[] = [];
  let size = 0;
  for (const row of statement.iterate(params) as IterableIterator<EventRow>) {
    rows.push(row);
    size += rowSize(row);
    if (size >= maxSize) return { rows, stoppedAtSize: true }; // leaving the loop resets the statement
  }
  return { rows, stoppedAtSize: false };
}

/**
 * What the retention job reads, along `events_with_payload` (only events still holding a payload,
 * per type in seq order): the next type, then a type's events up to the seq before which every
 * event is older than the cutoff (seq follows time, seq-of-time.ts), so a batch costs its own rows.
 */
function prepareRemovalStatements(db: Database.Database) {
  return {
    nextType: db.prepare('SELECT min(event_type) FROM events INDEXED BY events_with_payload WHERE removed_by IS NULL AND event_type > ?').pluck(),
    recordedBefore: db.prepare(
      `SELECT seq, ts AS timestampMs, user_id AS userId FROM events INDEXED BY events_with_payload
       WHERE event_type = @type AND removed_by IS NULL AND seq > @afterSeq AND seq < (${seqBoundSql('@before', 'until')}) AND ts < @before
       ORDER BY seq LIMIT @limit`,
    ),
  };
}

function prepareTreeStatements(db: Database.Database) {
  const checkpointColumns = 'tree_size AS size, root_hash AS rootHash, note, created_ms AS createdMs';
  return {
    selectLeafSource: db.prepare(
      `SELECT e.seq, e.id, e.ts AS timestampMs, e.user_id AS userId, e.event_type AS eventType, e.data AS dataJson, e.key_name AS keyName,
         e.hash, l.salt, e.removed_by AS removedBy, e.removal, e.removed_ms AS removedMs, l.data_sha256 AS dataSha256, l.hash AS leafHash
       FROM events e LEFT JOIN merkle_leaves l ON l.seq = e.seq WHERE e.id = ?`,
    ),
    selectCheckpoint: db.prepare(`SELECT ${checkpointColumns} FROM checkpoints WHERE tree_size = ?`),
    selectLatestCheckpoint: db.prepare(`SELECT ${checkpointColumns} FROM checkpoints ORDER BY tree_size DESC LIMIT 1`),
    selectCosignatures: db.prepare('SELECT line FROM cosignatures WHERE tree_size = ? ORDER BY witness').pluck(),
  };
}

/** A SQLite database read by a command-line tool: its events, and what a copy to PostgreSQL also takes. */
export type SqliteReader = EventReader & {
  /** The Idempotency-Keys recorded after `createdAfterMs`. */
  idempotencyRecords(createdAfterMs: number): IdempotencyRecord[];
  /** The Merkle tree's leaf rows of the events `fromSeq` to `toSeq`, in seq order, with what removals left in them. */
  leafRows(fromSeq: number, toSeq: number): CopiedLeafRow[];
  /** Every checkpoint kept, with its cosignatures, oldest first. */
  checkpoints(): StoredCheckpoint[];
  /** The seq from which each event's chain link is taken over its leaf (a database of this version's schema). */
  chainOverLeavesFrom(): number;
};

/**
 * The SQLite database at `path`, for reading only (the command-line tools): it must exist, and
 * nothing is written to it, unless `upgrade` asks to bring an older file to this version's schema
 * first, as the service would.
 */
export function openSqliteReader(path: string, { upgrade = false } = {}): SqliteReader {
  const db = upgrade ? openDatabase(path) : new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('query_only = ON');
  const selectRecords = db.prepare(
    `SELECT i.key_name AS keyName, i.idempotency_key AS idempotencyKey, i.request_sha256 AS request, i.created_ms AS createdMs,
       e.id AS eventId, e.ts AS timestampMs, e.seq
     FROM idempotency i JOIN events e ON e.id = i.event_id WHERE i.created_ms > ?`,
  );
  const selectLeaves = db.prepare('SELECT seq, salt, hash AS leafHash, nodes, data_sha256 AS dataSha256 FROM merkle_leaves WHERE seq BETWEEN ? AND ? ORDER BY seq');
  const selectCheckpoints = db.prepare('SELECT tree_size AS size, root_hash AS rootHash, note, created_ms AS createdMs FROM checkpoints ORDER BY tree_size');
  const selectCosignatures = db.prepare('SELECT line FROM cosignatures WHERE tree_size = ? ORDER BY witness').pluck();
  return {
    ...createSqliteReader(db, path),
    idempotencyRecords: (createdAfterMs) => selectRecords.all(createdAfterMs) as IdempotencyRecord[],
    leafRows: (fromSeq, toSeq) => selectLeaves.all(fromSeq, toSeq) as CopiedLeafRow[],
    checkpoints: () => (selectCheckpoints.all() as Array<Omit<StoredCheckpoint, 'cosignatures'>>)
      .map((checkpoint) => ({ ...checkpoint, cosignatures: selectCosignatures.all(checkpoint.size) as string[] })),
    chainOverLeavesFrom: () => db.prepare('SELECT min(from_seq) FROM chain_over_leaves').pluck().get() as number,
  };
}
