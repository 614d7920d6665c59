/**
 * The SQLite writer, on a thread of its own: it owns the only writing connection, and commits each
 * batch the main thread sends in one transaction. Off the main thread, the disk sync of one batch
 * (and the WAL checkpoints SQLite runs after commits) overlap with the parsing of the next,
 * instead of stalling every request in the meantime.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createUuidV7Generator } from '../../events/uuid-v7.js';
import { openDatabase } from './open-database.js';
import type { EventTuple, InsertOutcome, WriterReply, WriterRequest } from './writer-protocol.js';

const port = parentPort!;
const db = openDatabase((workerData as { path: string }).path);
const insert = db.prepare('INSERT INTO events (id, ts, user_id, event_type, data) VALUES (?, ?, ?, ?, ?)');
const nextId = createUuidV7Generator();

// Ids and timestamps are assigned inside the transaction, so their order is commit order.
const commit = db.transaction((events: EventTuple[]): InsertOutcome[] =>
  events.map(([userId, eventType, dataJson]) => {
    const { id, timestampMs } = nextId();
    try {
      const { lastInsertRowid } = insert.run(id, timestampMs, userId, eventType, dataJson);
      return [id, timestampMs, Number(lastInsertRowid)];
    } catch (error) {
      // A failed statement rolls back alone and the batch goes on, unless SQLite had to abandon
      // the whole transaction (I/O error, disk full): then every event of the batch must fail.
      if (!db.inTransaction) throw error;
      return (error as Error).message;
    }
  }),
);

port.on('message', (request: WriterRequest) => {
  let reply: WriterReply;
  if (request.kind === 'close') {
    db.close();
    reply = { kind: 'closed' };
  } else {
    try {
      reply = { kind: 'committed', batch: request.batch, outcomes: commit(request.events) };
    } catch (error) {
      reply = { kind: 'failed', batch: request.batch, message: (error as Error).message };
    }
  }
  port.postMessage(reply);
  if (reply.kind === 'closed') port.close();
});
