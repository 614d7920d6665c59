import { createUuidV7Generator } from '../src/events/uuid-v7.js';
import { chainHash, GENESIS_HASH } from '../src/integrity/chain.js';
import { openDatabase } from '../src/store/sqlite/open-database.js';
import { EVENT_TYPES, HOT_EVERY, HOT_USER, RARE_EVERY, eventData, typicalUser } from './fixtures.js';

/**
 * Fills a SQLite file with `count` events spread over the last 30 days, in the service's own
 * schema and chained with `chainSecret` as the service would: one hot user with one event in
 * HOT_EVERY, the rest spread over the typical users. Written directly in large transactions
 * (this is set-up, not the service under test).
 */
export function preloadSqlite(path: string, count: number, chainSecret: string): void {
  const db = openDatabase(path);
  db.pragma('synchronous = OFF');
  const start = Date.now() - 30 * 24 * 3600 * 1000;
  let clock = start;
  const step = (Date.now() - start) / count;
  const nextId = createUuidV7Generator(() => Math.floor(clock));
  const insert = db.prepare('INSERT INTO events (id, ts, user_id, event_type, data, key_name, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const secret = Buffer.from(chainSecret);
  let head = GENESIS_HASH;
  const fill = db.transaction((from: number, to: number) => {
    for (let n = from; n < to; n++) {
      clock += step;
      const { id, timestampMs } = nextId();
      const hot = n % HOT_EVERY === 0;
      const rare = hot && (n / HOT_EVERY) % RARE_EVERY === 0;
      const event = { id, timestampMs, userId: hot ? HOT_USER : typicalUser(n), eventType: EVENT_TYPES[n % EVENT_TYPES.length]!, dataJson: eventData(n, rare), keyName: 'preload' };
      head = chainHash(secret, head, event);
      insert.run(id, timestampMs, event.userId, event.eventType, event.dataJson, event.keyName, head);
    }
  });
  for (let from = 0; from < count; from += 50_000) fill(from, Math.min(count, from + 50_000));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
