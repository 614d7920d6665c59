import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { generateKey, hashKey, writeKeysFile, type Scope } from '../../src/auth/keys-file.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/** A key of each scope, by the name it has in the keys file; AUDITOR_API_KEY is an admin key too. */
const CALLERS: ReadonlyArray<{ name: string; scope: Scope; key: string }> = [
  { name: 'billing', scope: 'ingest', key: generateKey() },
  { name: 'analyst', scope: 'read', key: generateKey() },
  { name: 'ops', scope: 'admin', key: generateKey() },
  { name: 'AUDITOR_API_KEY', scope: 'admin', key: TEST_API_KEY },
];

const JSON_TYPE = 'application/json; charset=utf-8';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Route = {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  needs: Scope | 'any';
  /** Sends the request with `headers` (the key, or none). */
  send(server: TestServer, headers: Record<string, string>): Promise<Response>;
  /** Asserts the whole answer of an allowed request. */
  allowed(response: Response): Promise<void>;
};

let storedId = '';
const json = (server: TestServer, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> =>
  fetch(`${server.url}${path}`, body === undefined
    ? { headers }
    : { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function assertJson(response: Response, status: number): Promise<unknown> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get('content-type'), JSON_TYPE);
  return response.json();
}

/** Every route that takes a key, with the scope openapi.yaml says it needs. */
const ROUTES: readonly Route[] = [
  {
    method: 'POST', path: '/events', needs: 'ingest',
    send: (server, headers) => json(server, '/events', headers, { user_id: 'scoped', event_type: 'posted' }),
    async allowed(response) {
      const body = (await assertJson(response, 201)) as { message: string; id: string };
      assert.deepEqual(Object.keys(body), ['message', 'id']);
      assert.equal(body.message, 'Event recorded');
      assert.match(body.id, UUID);
      assert.equal(response.headers.get('location'), `/events/${body.id}`);
    },
  },
  {
    method: 'POST', path: '/events/batch', needs: 'ingest',
    send: (server, headers) => json(server, '/events/batch', headers, [{ user_id: 'scoped', event_type: 'batched' }]),
    async allowed(response) {
      const body = (await assertJson(response, 201)) as { message: string; ids: string[] };
      assert.deepEqual(Object.keys(body), ['message', 'ids']);
      assert.equal(body.message, '1 event recorded');
      assert.equal(body.ids.length, 1);
      assert.match(body.ids[0]!, UUID);
    },
  },
  {
    method: 'GET', path: '/events', needs: 'read',
    send: (server, headers) => json(server, '/events?user_id=seen&event_type=seed', headers),
    async allowed(response) {
      const events = (await assertJson(response, 200)) as Array<Record<string, unknown>>;
      assert.deepEqual(events.map((event) => [event.id, event.user_id, event.event_type, event.data]), [[storedId, 'seen', 'seed', { n: 1 }]]);
    },
  },
  {
    method: 'GET', path: '/events/summary', needs: 'read',
    send: (server, headers) => json(server, '/events/summary?group_by=event_type&user_id=seen', headers),
    async allowed(response) {
      assert.deepEqual(await assertJson(response, 200), { group_by: 'event_type', groups: [{ key: 'seed', count: 1 }], total: 1, truncated: false });
    },
  },
  {
    method: 'GET', path: '/events/{id}', needs: 'read',
    send: (server, headers) => json(server, `/events/${storedId}`, headers),
    async allowed(response) {
      const event = (await assertJson(response, 200)) as Record<string, unknown>;
      assert.deepEqual({ ...event, timestamp: typeof event.timestamp }, { id: storedId, timestamp: 'string', user_id: 'seen', event_type: 'seed', data: { n: 1 } });
    },
  },
  {
    method: 'GET', path: '/checkpoint', needs: 'read',
    send: (server, headers) => json(server, '/checkpoint', headers),
    async allowed(response) {
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.match(await response.text(), /^auditor\.(localhost|test)\/log\n\d+\n[A-Za-z0-9+/]{43}=\n\n\u2014 auditor\.(localhost|test)\/log [A-Za-z0-9+/]+=*\n$/);
    },
  },
  {
    method: 'GET', path: '/checkpoint/key', needs: 'read',
    send: (server, headers) => json(server, '/checkpoint/key', headers),
    async allowed(response) {
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.match(await response.text(), /^auditor\.(localhost|test)\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
    },
  },
  {
    method: 'GET', path: '/events/{id}/proof', needs: 'read',
    send: (server, headers) => json(server, `/events/${storedId}/proof`, headers),
    async allowed(response) {
      const proof = (await assertJson(response, 200)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(proof), ['leaf_index', 'tree_size', 'leaf', 'data_salt', 'inclusion_path']);
      assert.equal(proof.leaf_index, 0);
    },
  },
  {
    method: 'GET', path: '/proofs/consistency', needs: 'read',
    send: (server, headers) => json(server, '/proofs/consistency?from=1&to=1', headers),
    async allowed(response) {
      assert.deepEqual(await assertJson(response, 200), { from: 1, to: 1, consistency_path: [] });
    },
  },
  {
    method: 'POST', path: '/checkpoint/cosignatures', needs: 'admin',
    send: (server, headers) => fetch(`${server.url}/checkpoint/cosignatures`, { method: 'POST', headers: { ...headers, 'Content-Type': 'text/plain' }, body: 'not a note' }),
    async allowed(response) {
      // Past the key check to the body's: no witness is configured here, and this is no checkpoint.
      assert.match(((await assertJson(response, 400)) as { message: string }).message, /^the body is not a signed note/);
    },
  },
  {
    method: 'POST', path: '/erasures', needs: 'admin',
    send: (server, headers) => json(server, '/erasures', headers, { user_id: 'never-seen' }),
    async allowed(response) {
      assert.deepEqual(await assertJson(response, 200), { erased: 0, record: null });
    },
  },
  {
    method: 'GET', path: '/holds', needs: 'admin',
    send: (server, headers) => json(server, '/holds', headers),
    async allowed(response) {
      const { holds } = (await assertJson(response, 200)) as { holds: Array<Record<string, unknown>> };
      // Each admin call of POST /holds (below) may have placed one already; each has the API's shape.
      for (const hold of holds) assert.deepEqual(Object.keys(hold), ['id', 'scope', 'reason', 'placed_at', 'placed_by']);
    },
  },
  {
    method: 'POST', path: '/holds', needs: 'admin',
    send: (server, headers) => json(server, '/holds', headers, { event_type: 'never-seen', reason: 'scope table' }),
    async allowed(response) {
      const hold = (await assertJson(response, 201)) as { id: string; scope: unknown };
      assert.match(hold.id, UUID);
      assert.deepEqual(hold.scope, { event_type: 'never-seen' });
      assert.equal(response.headers.get('location'), `/holds/${hold.id}`);
    },
  },
  {
    method: 'DELETE', path: '/holds/{id}', needs: 'admin',
    send: (server, headers) => fetch(`${server.url}/holds/00000000-0000-7000-8000-000000000000`, { method: 'DELETE', headers }),
    async allowed(response) {
      // Past the key check to the hold's: there is no such hold.
      assert.match(((await assertJson(response, 404)) as { message: string }).message, /^No legal hold in force with id/);
    },
  },
  {
    method: 'GET', path: '/events/stream', needs: 'read',
    send: (server, headers) => fetch(`${server.url}/events/stream?user_id=nobody`, { headers }),
    async allowed(response) {
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      await response.body!.cancel();
    },
  },
  {
    method: 'POST', path: '/sinks', needs: 'admin',
    send: (server, headers) => json(server, '/sinks', headers, { url: 'https://siem.example.com/scopes' }),
    async allowed(response) {
      const sink = (await assertJson(response, 201)) as { id: string; secret: string };
      assert.match(sink.id, UUID);
      assert.match(sink.secret, /^whsec_/);
    },
  },
  {
    method: 'GET', path: '/sinks', needs: 'admin',
    send: (server, headers) => json(server, '/sinks', headers),
    async allowed(response) {
      assert.ok(Array.isArray(((await assertJson(response, 200)) as { sinks: unknown }).sinks));
    },
  },
  {
    method: 'GET', path: '/sinks/{id}', needs: 'admin',
    send: (server, headers) => json(server, '/sinks/00000000-0000-7000-8000-000000000000', headers),
    async allowed(response) {
      // Past the key check to the sink's: there is no such sink.
      assert.match(((await assertJson(response, 404)) as { message: string }).message, /^No sink with id/);
    },
  },
  {
    method: 'DELETE', path: '/sinks/{id}', needs: 'admin',
    send: (server, headers) => fetch(`${server.url}/sinks/00000000-0000-7000-8000-000000000000`, { method: 'DELETE', headers }),
    async allowed(response) {
      assert.match(((await assertJson(response, 404)) as { message: string }).message, /^No sink with id/);
    },
  },
  {
    method: 'GET', path: '/integrity', needs: 'admin',
    send: (server, headers) => json(server, '/integrity', headers),
    async allowed(response) {
      const checkpoint = (await assertJson(response, 200)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(checkpoint), ['event_count', 'last_id', 'head_hash', 'created_at', 'signature']);
      assert.match(String(checkpoint.signature), /^[0-9a-f]{64}$/);
    },
  },
  {
    method: 'GET', path: '/metrics', needs: 'admin',
    send: (server, headers) => json(server, '/metrics', headers),
    async allowed(response) {
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      assert.match(await response.text(), /^# HELP auditor_http_requests_total /m);
    },
  },
  {
    method: 'GET', path: '/openapi.json', needs: 'any',
    send: (server, headers) => json(server, '/openapi.json', headers),
    async allowed(response) {
      const document = (await assertJson(response, 200)) as { openapi: string };
      assert.match(document.openapi, /^3\./);
    },
  },
];

const mayCall = (scope: Scope, needs: Route['needs']): boolean => needs === 'any' || scope === 'admin' || scope === needs;

describe(`every route that takes a key, with every key (${TEST_BACKEND})`, () => {
  let dir: string;
  let server: TestServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-scope-table-'));
    const keysFile = join(dir, 'keys.json');
    writeKeysFile(keysFile, CALLERS.filter((caller) => caller.key !== TEST_API_KEY)
      .map(({ name, scope, key }) => ({ name, scope, sha256: hashKey(key), createdAt: new Date().toISOString() })));
    server = await startTestServer({ keysFile, metrics: createMetrics() });
    const seeded = await server.post({ user_id: 'seen', event_type: 'seed', data: { n: 1 } });
    assert.equal(seeded.status, 201);
    storedId = ((await seeded.json()) as { id: string }).id;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('covers every operation of openapi.yaml that needs a key, with the scope its summary names', () => {
    type Operation = { summary: string; security?: unknown[] };
    const document = parse(readFileSync(new URL('../../../openapi.yaml', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, Operation>> };
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).filter(([, operation]) => operation.security?.length !== 0).map(([method, operation]) => {
        const scope = /\(scope (ingest|read|admin)\b/.exec(operation.summary)?.[1] ?? (/\(any valid key\)/.test(operation.summary) ? 'any' : '?');
        return `${method.toUpperCase()} ${path} ${scope}`;
      }));
    assert.deepEqual(ROUTES.map((route) => `${route.method} ${route.path} ${route.needs}`).sort(), documented.sort());
  });

  for (const route of ROUTES) {
    const what = `${route.method} ${route.path}`;
    for (const caller of CALLERS) {
      if (mayCall(caller.scope, route.needs)) {
        it(`${what} serves the ${caller.scope} key "${caller.name}", in X-API-Key or as Authorization: Bearer`, async () => {
          await route.allowed(await route.send(server, { 'X-API-Key': caller.key }));
          await route.allowed(await route.send(server, { Authorization: `Bearer ${caller.key}` }));
          await route.allowed(await route.send(server, { Authorization: `bearer  ${caller.key}`, 'X-API-Key': caller.key }));
        });
      } else {
        it(`${what} refuses the ${caller.scope} key "${caller.name}" with 403, naming its scope and the one needed, and records nothing`, async () => {
          const before = await server.database.countEvents();
          for (const headers of [{ 'X-API-Key': caller.key }, { Authorization: `Bearer ${caller.key}` }]) {
            const response = await route.send(server, headers);
            assert.deepEqual(await assertJson(response, 403), { message: `The key "${caller.name}" has scope ${caller.scope}; this needs ${route.needs}` });
          }
          assert.equal(await server.database.countEvents(), before);
        });
      }
    }
    it(`${what} refuses a request without a key, with an empty one, or with an unknown one, with 401, and records nothing`, async () => {
      const before = await server.database.countEvents();
      assert.deepEqual(await assertJson(await route.send(server, {}), 401), { message: 'Missing API key: send it in X-API-Key, or as Authorization: Bearer <key>' });
      assert.deepEqual(await assertJson(await route.send(server, { 'X-API-Key': '' }), 401), { message: 'Missing API key: send it in X-API-Key, or as Authorization: Bearer <key>' });
      assert.deepEqual(await assertJson(await route.send(server, { 'X-API-Key': generateKey() }), 401), { message: 'Invalid API key' });
      assert.deepEqual(await assertJson(await route.send(server, { Authorization: `Bearer ${generateKey()}` }), 401), { message: 'Invalid API key' });
      const basic = await route.send(server, { Authorization: `Basic ${Buffer.from(`user:${TEST_API_KEY}`).toString('base64')}` });
      assert.equal(basic.headers.get('www-authenticate'), 'Bearer realm="auditor"', 'a 401 names the scheme it takes');
      assert.deepEqual(await assertJson(basic, 401), { message: 'Missing API key: send it in X-API-Key, or as Authorization: Bearer <key>' });
      assert.equal(await server.database.countEvents(), before);
    });

    it(`${what} refuses X-API-Key and Authorization: Bearer naming different keys with 400, even both valid, and records nothing`, async () => {
      const before = await server.database.countEvents();
      const response = await route.send(server, { 'X-API-Key': TEST_API_KEY, Authorization: `Bearer ${CALLERS[2]!.key}` });
      assert.deepEqual(await assertJson(response, 400), { message: 'X-API-Key and Authorization: Bearer name different keys; send the key in one of them' });
      assert.equal(await server.database.countEvents(), before);
    });
  }
});
