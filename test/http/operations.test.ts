import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createJsonLogger } from '../../src/ops/logger.js';
import { fakeStore } from '../helpers/fake-store.js';
import { startTestServer } from '../helpers/test-server.js';

describe('probes and request ids', () => {
  it('answers /healthz and /readyz without a key', async () => {
    const server = await startTestServer();
    try {
      for (const [path, body] of [['/healthz', { status: 'ok' }], ['/readyz', { status: 'ready' }]] as const) {
        const response = await fetch(`${server.url}${path}`);
        assert.equal(response.status, 200, path);
        assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
        assert.deepEqual(await response.json(), body);
      }
      assert.equal((await fetch(`${server.url}/healthz`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
  });

  it('answers /readyz 503 while the database does not answer, and 200 once it does', async () => {
    let ready = false;
    const levels: string[] = [];
    const server = await startTestServer({
      store: fakeStore({ isReady: async () => ready }),
      log: createJsonLogger((text) => levels.push(...text.trimEnd().split('\n').map((line) => (JSON.parse(line) as { level: string }).level))),
    });
    try {
      const down = await fetch(`${server.url}/readyz`);
      assert.equal(down.status, 503);
      assert.equal(down.headers.get('retry-after'), '1');
      assert.deepEqual(await down.json(), { message: 'The database cannot store events now' });
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'alive all the same');
      ready = true;
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(levels.length >= 3);
      assert.ok(!levels.includes('error'), 'not being ready is an answer, not an error to log');
    } finally {
      await server.close();
    }
  });

  it('reports a closed SQLite store as not ready', async () => {
    const server = await startTestServer();
    await server.store.close();
    assert.equal(await server.store.isReady(), false);
    await server.close();
  });

  it('echoes a usable X-Request-Id, makes one otherwise, and logs it', async () => {
    const lines: string[] = [];
    const server = await startTestServer({ log: createJsonLogger((text) => lines.push(...text.trimEnd().split('\n'))) });
    try {
      const given = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'trace-abc-123' } });
      assert.equal(given.headers.get('x-request-id'), 'trace-abc-123');
      const made = await fetch(`${server.url}/healthz`);
      assert.match(made.headers.get('x-request-id')!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const unusable = await fetch(`${server.url}/nowhere`, { headers: { 'X-Request-Id': 'has space' } });
      assert.equal(unusable.status, 404);
      assert.notEqual(unusable.headers.get('x-request-id'), 'has space');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const ids = lines.map((line) => (JSON.parse(line) as { request_id?: string }).request_id);
      assert.deepEqual(ids, ['trace-abc-123', made.headers.get('x-request-id'), unusable.headers.get('x-request-id')]);
    } finally {
      await server.close();
    }
  });
});
