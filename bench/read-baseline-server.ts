/**
 * The baseline of single-event reads: bare node:http answering GET /events/{id} from one prepared
 * statement on the same SQLite file, in the service's JSON shape, after a plain key check. No
 * router, no logging, no metrics, no store: what one indexed row costs over HTTP on this machine,
 * the reference the service's reads by id (and its proofs, which read a few rows more) are held to.
 */
import { createServer } from 'node:http';
import Database from '../src/store/sqlite/sqlite-driver.js';

type Row = { id: string; ts: number; userId: string; eventType: string; data: string };

// Opened as the service opens its reading connection: a readonly one reads a WAL database slower
// (twice the latency here), as SQLite cannot use the shared WAL index the same way.
const db = new Database(process.env.AUDITOR_DB!);
db.pragma('query_only = ON');
const selectById = db.prepare('SELECT id, ts, user_id AS userId, event_type AS eventType, data FROM events WHERE id = ?');
const apiKey = process.env.AUDITOR_API_KEY;

const server = createServer((request, response) => {
  const id = /^\/events\/([0-9a-f-]{36})$/.exec(request.url ?? '')?.[1];
  if (request.headers['x-api-key'] !== apiKey) return answer(401, '{"message":"unauthorised"}');
  const row = id === undefined ? undefined : (selectById.get(id) as Row | undefined);
  if (row === undefined) return answer(404, '{"message":"no such event"}');
  answer(200, `{"id":"${row.id}","timestamp":"${new Date(row.ts).toISOString()}","user_id":${JSON.stringify(row.userId)},"event_type":${JSON.stringify(row.eventType)},"data":${row.data}}`);

  function answer(status: number, body: string): void {
    response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  }
});
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close(() => db.close()));
