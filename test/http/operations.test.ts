import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureLog } from '../helpers/capture-log.js';
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
    const log = captureLog();
    const server = await startTestServer({ store: fakeStore({ isReady: async () => ready }), log: log.logger });
    try {
      const down = await fetch(`${server.url}/readyz`);
      const alive = await fetch(`${server.url}/healthz`);
      assert.equal(down.status, 503);
      assert.equal(down.headers.get('retry-after'), '1');
      assert.deepEqual(await down.json(), { message: 'The database cannot store events now' });
      assert.equal(alive.status, 200, 'alive all the same');
      ready = true;
      const up = await fetch(`${server.url}/readyz`);
      assert.equal(up.status, 200);
      for (const response of [down, alive, up]) await log.requestLine(response.headers.get('x-request-id')!);
      assert.deepEqual(log.lines.map((line) => `${String(line.level)} ${String(line.path)} ${String(line.status)}`).sort(),
        ['info /healthz 200', 'info /readyz 200', 'info /readyz 503'], 'not being ready is an answer, not an error to log');
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
    const log = captureLog();
    const server = await startTestServer({ log: log.logger });
    try {
      const given = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'trace-abc-123' } });
      assert.equal(given.headers.get('x-request-id'), 'trace-abc-123');
      const made = await fetch(`${server.url}/healthz`);
      assert.match(made.headers.get('x-request-id')!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const unusable = await fetch(`${server.url}/nowhere`, { headers: { 'X-Request-Id': 'has space' } });
      assert.equal(unusable.status, 404);
      assert.notEqual(unusable.headers.get('x-request-id'), 'has space');
      const ids = [given, made, unusable].map((response) => response.headers.get('x-request-id')!);
      for (const id of ids) await log.requestLine(id);
      assert.deepEqual(log.lines.map((line) => line.request_id).sort(), ids.sort());
    } finally {
      await server.close();
    }
  });
});
