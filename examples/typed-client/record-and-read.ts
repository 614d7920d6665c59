/**
 * Auditor through a client typed from its OpenAPI document. From this folder:
 *
 *   npx openapi-typescript ../../openapi.yaml -o auditor-api.d.ts
 *   npx tsc -p . && AUDITOR_URL=http://127.0.0.1:8080 AUDITOR_API_KEY=<key> node dist/record-and-read.js
 *
 * The key needs the ingest and read scopes.
 */
import createClient from 'openapi-fetch';
import type { paths } from './auditor-api.js';

const apiKey = process.env.AUDITOR_API_KEY;
if (!apiKey) throw new Error('Set AUDITOR_API_KEY to a key with the ingest and read scopes.');
const auditor = createClient<paths>({
  baseUrl: process.env.AUDITOR_URL ?? 'http://127.0.0.1:8080',
  headers: { 'X-API-Key': apiKey },
});

// One event: data is any JSON object, kept as sent.
const login = await auditor.POST('/events', {
  body: { user_id: 'alice', event_type: 'login', data: { ip: '203.0.113.7' } },
});
if (login.error) throw new Error(`POST /events: ${login.error.message}`);
console.log(`recorded ${login.data.id}`);

// Several events at once: all stored, in this order, or none.
const batch = await auditor.POST('/events/batch', {
  body: [
    { user_id: 'alice', event_type: 'export', data: { report: 'q3', rows: 120 } },
    { user_id: 'alice', event_type: 'logout' },
  ],
});
if (batch.error) throw new Error(`POST /events/batch: ${batch.error.message}`);
console.log(`recorded ${batch.data.ids.join(' ')}`);

// Alice's events, oldest first: the JSON array, already typed as events.
const events = await auditor.GET('/events', { params: { query: { user_id: 'alice' } } });
if (events.error) throw new Error(`GET /events: ${events.error.message}`);
for (const event of events.data) {
  console.log(`${event.timestamp} ${event.user_id} ${event.event_type} ${JSON.stringify(event.data)}`);
}

// One event by its id.
const one = await auditor.GET('/events/{id}', { params: { path: { id: login.data.id } } });
if (one.error) throw new Error(`GET /events/${login.data.id}: ${one.error.message}`);
// data is null once retention or an erasure removed it (`removed` then says which, and when).
const where = one.data.data === null ? `nowhere known (removed by ${one.data.removed?.reason})` : String(one.data.data.ip);
console.log(`${one.data.id} is ${one.data.user_id}'s ${one.data.event_type} from ${where}`);
