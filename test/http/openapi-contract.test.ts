import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { createMetrics } from '../../src/ops/metrics.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

type Parameter = { name: string; in: string; schema?: { examples?: string[] } };
type Operation = { parameters?: Parameter[]; responses: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }> };
type Document = { paths: Record<string, Record<string, Operation>>; components: { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> } };

const document = parse(readFileSync(new URL('../../../openapi.yaml', import.meta.url), 'utf8')) as Document;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
ajv.addSchema(document, 'openapi');

/**
 * Checks one real response against the contract: the status is documented for this operation,
 * and a JSON body matches the documented schema.
 */
async function conforms(path: string, method: string, response: Response): Promise<void> {
  const operation = document.paths[path]?.[method.toLowerCase()];
  assert.ok(operation, `${method} ${path} is not in openapi.yaml`);
  let documented = operation.responses[String(response.status)];
  assert.ok(documented, `${method} ${path} answered ${response.status}, which openapi.yaml does not list`);
  if (documented.$ref !== undefined) documented = document.components.responses[documented.$ref.split('/').pop()!]!;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!;
  // GET /events lists only its JSON array under content (so that a generated client types it so),
  // and names the other formats it negotiates in its Accept parameter.
  const negotiated = operation.parameters?.find((parameter) => parameter.in === 'header' && parameter.name === 'Accept')?.schema?.examples ?? [];
  const listed = documented.content?.[type] !== undefined || (response.status === 200 && negotiated.includes(type));
  assert.ok(listed, `${method} ${path} ${response.status} answered ${type}, which openapi.yaml does not list`);
  if (type !== 'application/json') return;
  const body: unknown = await response.json();
  const schemaPointer = operation.responses[String(response.status)]!.$ref !== undefined
    ? `openapi${operation.responses[String(response.status)]!.$ref}/content/application~1json/schema`
    : `openapi#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/${method.toLowerCase()}/responses/${response.status}/content/application~1json/schema`;
  const check = ajv.getSchema(schemaPointer) ?? ajv.compile({ $ref: schemaPointer });
  assert.ok(check(body), `${method} ${path} ${response.status}: ${JSON.stringify(check.errors)} in ${JSON.stringify(body)}`);
}

describe('openapi.yaml against real responses', () => {
  let server: TestServer;
  const call = (path: string, init: RequestInit = {}, key: string | null = TEST_API_KEY) =>
    fetch(`${server.url}${path}`, { ...init, headers: { ...(key === null ? {} : { 'X-API-Key': key }), 'Content-Type': 'application/json', ...init.headers } });

  before(async () => {
    server = await startTestServer({ maxBodyBytes: 4096, metrics: createMetrics() });
  });
  after(() => server.close());

  it('describes every answer of POST /events', async () => {
    const created = await call('/events', { method: 'POST', body: '{"user_id":"c","event_type":"t","data":{"n":1}}', headers: { 'Idempotency-Key': 'k1' } });
    await conforms('/events', 'POST', created);
    await conforms('/events', 'POST', await call('/events', { method: 'POST', body: '{"user_id":"c","event_type":"t","data":{"n":1}}', headers: { 'Idempotency-Key': 'k1' } }));
    await conforms('/events', 'POST', await call('/events', { method: 'POST', body: '{"user_id":"c","event_type":"t"}', headers: { 'Idempotency-Key': 'k1' } }));
    await conforms('/events', 'POST', await call('/events', { method: 'POST', body: '{}' }));
    await conforms('/events', 'POST', await call('/events', { method: 'POST', body: '{}' }, null));
    await conforms('/events', 'POST', await call('/events', { method: 'POST', body: 'x'.repeat(5000) }));
    await conforms('/events', 'POST', await call('/events', { method: 'POST', body: '{}', headers: { 'Content-Type': 'text/plain' } }));
  });

  it('describes every answer of GET /events, /events/summary, /events/{id}, /events/batch', async () => {
    const posted = (await (await call('/events', { method: 'POST', body: '{"user_id":"d","event_type":"t"}' })).json()) as { id: string };
    await conforms('/events', 'GET', await call('/events?user_id=d'));
    await conforms('/events', 'GET', await call('/events?user_id=d&limit=1'));
    await conforms('/events', 'GET', await call('/events'));
    await conforms('/events', 'GET', await call('/events?limit=0'));
    await conforms('/events', 'GET', await call('/events?all=true', { headers: { Accept: 'application/x-ndjson' } }));
    await conforms('/events/summary', 'GET', await call('/events/summary?group_by=hour&since=2020-01-01'));
    await conforms('/events/summary', 'GET', await call('/events/summary?group_by=user_id&event_type=t'));
    await conforms('/events/summary', 'GET', await call('/events/summary?group_by=week'));
    await conforms('/events/summary', 'GET', await call('/events/summary?group_by=day', {}, null));
    await conforms('/events', 'GET', await call('/events?user_id=d', {}, 'wrong-key-0123456789'));
    await conforms('/events', 'GET', await call('/events?user_id=d', { headers: { Accept: 'text/html' } }));
    await conforms('/events', 'GET', await call('/events?user_id=d', { headers: { Accept: 'text/csv' } }));
    await conforms('/events/{id}', 'GET', await call(`/events/${posted.id}`));
    await conforms('/events/{id}', 'GET', await call('/events/0190a000-0000-7000-8000-000000000000'));
    await conforms('/events/batch', 'POST', await call('/events/batch', { method: 'POST', body: '[{"user_id":"e","event_type":"t"}]' }));
    await conforms('/events/batch', 'POST', await call('/events/batch', { method: 'POST', body: '[{"user_id":"e"}]' }));
  });

  it('describes the integrity, Merkle tree, contract, metrics and probe endpoints', async () => {
    await conforms('/integrity', 'GET', await call('/integrity'));
    const posted = (await (await call('/events', { method: 'POST', body: '{"user_id":"p","event_type":"t"}' })).json()) as { id: string };
    await conforms('/checkpoint', 'GET', await call('/checkpoint'));
    await conforms('/checkpoint', 'GET', await call('/checkpoint?size=1000000'));
    await conforms('/checkpoint', 'GET', await call('/checkpoint?size=x'));
    await conforms('/checkpoint/key', 'GET', await call('/checkpoint/key'));
    await conforms('/events/{id}/proof', 'GET', await call(`/events/${posted.id}/proof`));
    await conforms('/events/{id}/proof', 'GET', await call(`/events/${posted.id}/proof?size=1000000`));
    await conforms('/events/{id}/proof', 'GET', await call('/events/0190a000-0000-7000-8000-000000000000/proof'));
    await conforms('/proofs/consistency', 'GET', await call('/proofs/consistency?from=0&to=1'));
    await conforms('/proofs/consistency', 'GET', await call('/proofs/consistency?from=2&to=1'));
    const note = await (await call('/checkpoint')).text();
    await conforms('/checkpoint/cosignatures', 'POST', await call('/checkpoint/cosignatures', { method: 'POST', body: note, headers: { 'Content-Type': 'text/plain' } }));
    await conforms('/checkpoint/cosignatures', 'POST', await call('/checkpoint/cosignatures', { method: 'POST', body: note }));
    await conforms('/openapi.json', 'GET', await call('/openapi.json'));
    await conforms('/openapi.json', 'GET', await call('/openapi.json', {}, null));
    await conforms('/healthz', 'GET', await call('/healthz', {}, null));
    await conforms('/readyz', 'GET', await call('/readyz', {}, null));
  });

  it('describes erasures, legal holds and the events they leave', async () => {
    const posted = (await (await call('/events', { method: 'POST', body: '{"user_id":"gone","event_type":"t","data":{"n":1}}' })).json()) as { id: string };
    const placed = await call('/holds', { method: 'POST', body: '{"user_id":"gone","reason":"case 1"}' });
    const hold = (await placed.clone().json()) as { id: string };
    await conforms('/holds', 'POST', placed);
    await conforms('/holds', 'POST', await call('/holds', { method: 'POST', body: '{"user_id":"gone"}' }));
    await conforms('/holds', 'GET', await call('/holds'));
    await conforms('/erasures', 'POST', await call('/erasures', { method: 'POST', body: '{"user_id":"gone"}' }));
    await conforms('/holds/{id}', 'DELETE', await call(`/holds/${hold.id}`, { method: 'DELETE' }));
    await conforms('/holds/{id}', 'DELETE', await call(`/holds/${hold.id}`, { method: 'DELETE' }));
    await conforms('/holds/{id}', 'DELETE', await call(`/holds/${hold.id}`, { method: 'DELETE', body: '{"why":1}' }));
    await conforms('/erasures', 'POST', await call('/erasures', { method: 'POST', body: '{"user_id":"gone","reason":"request 9"}' }));
    await conforms('/erasures', 'POST', await call('/erasures', { method: 'POST', body: '{"user_id":"gone"}' }));
    await conforms('/erasures', 'POST', await call('/erasures', { method: 'POST', body: '{"data":{}}' }));
    await conforms('/erasures', 'POST', await call('/erasures', { method: 'POST', body: '{"user_id":"gone"}' }, null));
    const removed = await call(`/events/${posted.id}`);
    assert.equal(((await removed.clone().json()) as { data: unknown }).data, null);
    await conforms('/events/{id}', 'GET', removed);
    await conforms('/events', 'GET', await call('/events?event_type=t&event_type=auditor.erasure&event_type=auditor.hold'));
  });

  it('describes the live stream and the webhook sinks', async () => {
    const stream = await call('/events/stream?event_type=t');
    await conforms('/events/stream', 'GET', stream);
    await stream.body!.cancel();
    await conforms('/events/stream', 'GET', await call('/events/stream?limit=1'));
    await conforms('/events/stream', 'GET', await call('/events/stream', { headers: { 'Last-Event-ID': 'nonsense' } }));
    const added = await call('/sinks', { method: 'POST', body: '{"url":"https://siem.example.com/in","filters":{"event_type":["login"]}}' });
    const sink = (await added.clone().json()) as { id: string };
    await conforms('/sinks', 'POST', added);
    await conforms('/sinks', 'POST', await call('/sinks', { method: 'POST', body: '{"url":"ftp://x"}' }));
    await conforms('/sinks', 'GET', await call('/sinks'));
    await conforms('/sinks/{id}', 'GET', await call(`/sinks/${sink.id}`));
    await conforms('/sinks/{id}', 'DELETE', await call(`/sinks/${sink.id}`, { method: 'DELETE' }));
    await conforms('/sinks/{id}', 'GET', await call(`/sinks/${sink.id}`));
    await conforms('/sinks/{id}', 'DELETE', await call(`/sinks/${sink.id}`, { method: 'DELETE' }));
  });

  it('describes the 405 of every path, whose Allow names exactly the methods the document lists (and HEAD with GET)', async () => {
    for (const [path, item] of Object.entries(document.paths)) {
      const methods = Object.keys(item).map((method) => method.toUpperCase()).sort();
      // HEAD is GET's own (the document's description says so), not an operation of its own.
      const allowed = methods.includes('GET') ? [...methods, 'HEAD'].sort() : methods;
      const lacking = ['DELETE', 'PATCH', 'PUT', 'POST'].find((method) => !methods.includes(method))!;
      const target = path.replace('{id}', '0190a000-0000-7000-8000-000000000000').replace('{asset}', 'main.js');
      const response = await call(target, { method: lacking });
      assert.equal(response.status, 405, `${lacking} ${path}`);
      assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual(response.headers.get('allow')?.split(', ').sort(), allowed, `Allow of ${path}`);
      assert.deepEqual(await response.clone().json(), { message: `${lacking} is not allowed on ${target}; use ${response.headers.get('allow')}` });
      // Every operation of the path lists the 405, since any of them may be the one a client meant.
      for (const method of methods) await conforms(path, method, response.clone());
    }
  });

  it('rejects a body that breaks the contract (the check itself can fail)', () => {
    const event = ajv.compile({ $ref: 'openapi#/components/schemas/Event' });
    assert.equal(event({ id: 'x', timestamp: 'now', user_id: 'u', event_type: 't', data: {} }), false);
    assert.equal(event({ id: '0190a000-0000-7000-8000-000000000000', timestamp: '2026-11-26T21:04:05.123Z', user_id: 'u', event_type: 't', data: {}, extra: 1 }), false);
    assert.equal(event({ id: '0190a000-0000-7000-8000-000000000000', timestamp: '2026-11-26T21:04:05.123Z', user_id: 'u', event_type: 't', data: {} }), true);
  });

  it('serves the same document at /openapi.json', async () => {
    const served = (await (await call('/openapi.json')).json()) as Document;
    assert.deepEqual(served, document);
  });
});
