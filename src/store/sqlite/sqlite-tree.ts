/**
 * The Merkle tree's stored hashes in a SQLite database (the merkle_leaves table): read by
 * subtree, and extended over events that have no leaf yet (a log from before the tree, at
 * start-up). Synchronous, like better-sqlite3: the writer thread calls it inside its transaction.
 */
import type Database from 'better-sqlite3';
import type { ChainedFields } from '../../integrity/chain.js';
import { eventLeaf, newSalt } from '../../integrity/event-leaf.js';
import { appendLeaf, EMPTY_FRONTIER, leafHash, storedWith, subtreesOf, type Frontier, type Subtree } from '../../integrity/merkle-tree.js';

/** Events given leaves per transaction when a log from before the tree is brought up to date. */
const CATCH_UP_BATCH = 10_000;

export type SqliteTree = {
  /** How many leaves the tree holds. */
  size(): number;
  /** The hashes of complete subtrees, in the order asked; throws when one is missing. */
  subtrees(subtrees: readonly Subtree[]): Buffer[];
  /** The right edge of the tree of `size` leaves. */
  frontier(size: number): Frontier;
  /**
   * Gives a leaf to every event that has none, in seq order, at most CATCH_UP_BATCH events per
   * call of `transact` (which runs its function in a transaction); tells `progress` after each.
   */
  catchUp(transact: (work: () => void) => void, progress?: (done: number, total: number) => void): number;
};

export function createSqliteTree(db: Database.Database): SqliteTree {
  const selectSize = db.prepare('SELECT coalesce(max(seq), 0) FROM merkle_leaves').pluck();
  const selectLastEvent = db.prepare('SELECT coalesce(max(seq), 0) FROM events').pluck();
  const selectEventsAfter = db.prepare(
    'SELECT seq, id, ts AS timestampMs, user_id AS userId, event_type AS eventType, data AS dataJson, key_name AS keyName FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const insertLeaf = db.prepare('INSERT INTO merkle_leaves (seq, salt, hash, nodes) VALUES (?, ?, ?, ?)');

  // Every row a proof needs in one statement: a statement per row cost as much again in calls.
  const selectStored = db.prepare('SELECT seq, hash, nodes FROM merkle_leaves WHERE seq IN (SELECT value FROM json_each(?))').raw(true);
  const subtrees = (wanted: readonly Subtree[]): Buffer[] => {
    const places = wanted.map(storedWith);
    const rows = new Map<number, [number, Buffer, Buffer]>();
    if (places.length > 0) {
      for (const row of selectStored.all(JSON.stringify(places.map(({ leafIndex }) => leafIndex + 1))) as Array<[number, Buffer, Buffer]>) rows.set(row[0], row);
    }
    return wanted.map((subtree, i) => {
      const { leafIndex, level } = places[i]!;
      const row = rows.get(leafIndex + 1);
      const hash = row === undefined ? undefined : level === 0 ? row[1] : row[2].subarray((level - 1) * 32, level * 32);
      if (hash === undefined || hash.length !== 32) {
        throw new Error(`the Merkle tree has no hash for leaves ${subtree.index * 2 ** level} to ${(subtree.index + 1) * 2 ** level - 1}: it is damaged`);
      }
      return hash;
    });
  };
  const frontier = (size: number): Frontier => (size === 0 ? EMPTY_FRONTIER : { size, hashes: subtrees(subtreesOf(0, size)) });

  return {
    size: () => selectSize.get() as number,
    subtrees,
    frontier,
    catchUp(transact, progress) {
      const total = selectLastEvent.get() as number;
      let done = selectSize.get() as number;
      const startedAt = done;
      while (done < total) {
        transact(() => {
          let tree = frontier(done);
          for (const event of selectEventsAfter.all(done, CATCH_UP_BATCH) as Array<ChainedFields & { seq: number }>) {
            // The tree's leaf i is the event of seq i + 1: a gap is a log no tree can be built over.
            if (event.seq !== tree.size + 1) throw new Error(`the events skip from seq ${tree.size} to ${event.seq}: the log has a gap; run npm run verify`);
            const salt = Buffer.from(newSalt());
            const hash = leafHash(eventLeaf(event, salt));
            const appended = appendLeaf(tree, hash);
            tree = appended.frontier;
            insertLeaf.run(event.seq, salt, hash, Buffer.concat(appended.completed));
          }
          done = tree.size;
        });
        progress?.(done - startedAt, total - startedAt);
      }
      return done - startedAt;
    },
  };
}
