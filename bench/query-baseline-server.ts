/**
 * The baseline of a user's events: bare node:http answering GET /events?user_id=… from one prepared
 * statement on the same SQLite file, with the bytes the service answers (the JSON array of the
 * events in the API's shape, oldest first, with its Content-Type), after a plain key check. The
 * query string is parsed as the service parses it (URLSearchParams); no router, no logging, no
 * metrics, no memory budget, no chunks, no caching of answers: what reading and sending one user's
 * events costs over HTTP on this machine, the reference the service's queries are held to.
 */
import { createServer } from 'node:http';
import Database from '../src/store/sqlite/sqlite-driver.js';

type Row = [id: string, ts: number, userId: string, eventType: string, data: string];

// Opened as the service opens its reading connection (see read-baseline-server.ts).
const db = new Database(process.env.AUDITOR_DB!);
db.pragma('query_only = ON');
const selectByUser = db.prepare('SELECT id, ts, user_id, event_type, data FROM events WHERE user_id = ? ORDER BY ts, seq').raw(true);
const apiKey = process.env.AUDITOR_API_KEY;

const server = createServer((request, response) => {
  const target = request.url ?? '/';
  const question = target.indexOf('?');
  const path = question === -1 ? target : target.slice(0, question);
  const userId = question === -1 ? null : new URLSearchParams(target.slice(question + 1)).get('user_id');
  if (request.headers['x-api-key'] !== apiKey) return answer(401, '{"message":"unauthorised"}');
  if (path !== '/events') return answer(404, '{"message":"no such endpoint"}');
  if (userId === null || userId === '') return answer(400, '{"message":"user_id is required"}');
  let body = '[';
  for (const [id, ts, user, eventType, data] of selectByUser.all(userId) as Row[]) {
    if (body.length > 1) body += ',';
    body += `{"id":"${id}","timestamp":"${new Date(ts).toISOString()}","user_id":${JSON.stringify(user)},"event_type":${JSON.stringify(eventType)},"data":${data}}`;
  }
  answer(200, body + ']');

  function answer(status: number, text: string): void {
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
  }
});
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close(() => db.close()));
