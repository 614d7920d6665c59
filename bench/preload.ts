import { createUuidV7Generator } from '../src/events/uuid-v7.js';
import { chainHashOverLeaf, GENESIS_HASH } from '../src/integrity/chain.js';
import { eventLeaf, newSalt } from '../src/integrity/event-leaf.js';
import { appendLeaf, EMPTY_FRONTIER, leafHash } from '../src/integrity/merkle-tree.js';
import { openDatabase } from '../src/store/sqlite/open-database.js';
import { EVENT_TYPES, HOT_EVERY, HOT_USER, RARE_EVERY, eventData, typicalUser } from './fixtures.js';

/**
 * Fills a SQLite file with `count` events spread over the last 30 days, in the service's own
 * schema, chained with `chainSecret` and given their Merkle tree leaves as the service would: one
 * hot user with one event in HOT_EVERY, the rest spread over the typical users. Written directly
 * in large transactions (this is set-up, not the service under test); with the tree written here,
 * the service does not spend its first start building a leaf for each of them.
 */
export function preloadSqlite(path: string, count: number, chainSecret: string): void {
  const db = openDatabase(path);
  db.pragma('synchronous = OFF');
  const start = Date.now() - 30 * 24 * 3600 * 1000;
  let clock = start;
  const step = (Date.now() - start) / count;
  const nextId = createUuidV7Generator(() => Math.floor(clock));
  const insert = db.prepare('INSERT INTO events (id, ts, user_id, event_type, data, key_name, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertLeaf = db.prepare('INSERT INTO merkle_leaves (seq, salt, hash, nodes) VALUES (?, ?, ?, ?)');
  const secret = Buffer.from(chainSecret);
  let head = GENESIS_HASH;
  let tree = EMPTY_FRONTIER;
  const fill = db.transaction((from: number, to: number) => {
    for (let n = from; n < to; n++) {
      clock += step;
      const { id, timestampMs } = nextId();
      const hot = n % HOT_EVERY === 0;
      const rare = hot && (n / HOT_EVERY) % RARE_EVERY === 0;
      const event = { id, timestampMs, userId: hot ? HOT_USER : typicalUser(n), eventType: EVENT_TYPES[n % EVENT_TYPES.length]!, dataJson: eventData(n, rare), keyName: 'preload' };
      const salt = newSalt();
      const leaf = leafHash(eventLeaf(event, salt));
      head = chainHashOverLeaf(secret, head, leaf);
      const { lastInsertRowid: seq } = insert.run(id, timestampMs, event.userId, event.eventType, event.dataJson, event.keyName, head);
      const appended = appendLeaf(tree, leaf);
      tree = appended.frontier;
      insertLeaf.run(seq, salt, leaf, Buffer.concat(appended.completed));
    }
  });
  for (let from = 0; from < count; from += 50_000) fill(from, Math.min(count, from + 50_000));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
