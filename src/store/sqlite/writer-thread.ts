/**
 * The SQLite writer, on a thread of its own: it owns the only writing connection, and commits each
 * batch the main thread sends in one transaction. Off the main thread, the disk sync of one batch
 * (and the WAL checkpoints SQLite runs after commits) overlap with the parsing of the next,
 * instead of stalling every request in the meantime.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { createUuidV7Generator } from '../../events/uuid-v7.js';
import { chainHash, GENESIS_HASH } from '../../integrity/chain.js';
import { openDatabase } from './open-database.js';
import type { EventTuple, InsertOutcome, WriterReply, WriterRequest } from './writer-protocol.js';

const port = parentPort!;
const { path, chainSecret } = workerData as { path: string; chainSecret: Uint8Array };
const secret = Buffer.from(chainSecret);
const db = openDatabase(path);
const insert = db.prepare('INSERT INTO events (id, ts, user_id, event_type, data, key_name, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
const nextId = createUuidV7Generator();
const selectHead = db.prepare('SELECT hash FROM events WHERE hash IS NOT NULL ORDER BY seq DESC LIMIT 1').pluck();

// Ids, timestamps and chain hashes are assigned inside the transaction, in commit order. The head
// is read inside it too, under the write lock (see commit), so even a second process writing to
// the same file by mistake would extend the chain rather than fork it.
const insertAll = db.transaction((events: EventTuple[]): InsertOutcome[] => {
  let head = (selectHead.get() as Buffer | undefined) ?? GENESIS_HASH;
  return events.map(([userId, eventType, dataJson, keyName]) => {
    const { id, timestampMs } = nextId();
    const hash = chainHash(secret, head, { id, timestampMs, userId, eventType, dataJson, keyName });
    try {
      const { lastInsertRowid } = insert.run(id, timestampMs, userId, eventType, dataJson, keyName, hash);
      head = hash;
      return [id, timestampMs, Number(lastInsertRowid)];
    } catch (error) {
      // A failed statement rolls back alone and the batch goes on, unless SQLite had to abandon
      // the whole transaction (I/O error, disk full): then every event of the batch must fail.
      if (!db.inTransaction) throw error;
      return (error as Error).message;
    }
  });
});

/** Commits the events in one transaction that takes the write lock at its start. */
function commit(events: EventTuple[]): InsertOutcome[] {
  return insertAll.immediate(events);
}

port.on('message', (first: WriterRequest) => {
  // Everything the main thread sent while the last transaction ran joins this one.
  const requests: WriterRequest[] = [first];
  for (let next = receiveMessageOnPort(port); next !== undefined; next = receiveMessageOnPort(port)) {
    requests.push(next.message as WriterRequest);
  }
  const batches = requests.filter((request) => request.kind === 'commit');
  const closing = requests.some((request) => request.kind === 'close');
  if (batches.length > 0) {
    const events = batches.length === 1 ? batches[0]!.events : batches.flatMap((batch) => batch.events);
    try {
      const outcomes = commit(events);
      let offset = 0;
      for (const batch of batches) {
        port.postMessage({ kind: 'committed', batch: batch.batch, outcomes: outcomes.slice(offset, offset + batch.events.length) } satisfies WriterReply);
        offset += batch.events.length;
      }
    } catch (error) {
      for (const batch of batches) port.postMessage({ kind: 'failed', batch: batch.batch, message: (error as Error).message } satisfies WriterReply);
    }
  }
  if (closing) {
    db.close();
    port.postMessage({ kind: 'closed' } satisfies WriterReply);
    port.close();
  }
});
