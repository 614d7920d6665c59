import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ENV_KEY_NAME, generateKey, hashKey, writeKeysFile } from '../../src/auth/keys-file.js';
import { createMemoryBudget, type MemoryBudget } from '../../src/http/memory-budget.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

const MiB = 1024 * 1024;
const BUSY = 'The service is receiving as many request bodies as its memory allows (from this key, or from all); nothing was recorded; retry in 1 s';

describe('request bodies share a bounded memory', () => {
  let server: TestServer;
  let budget: MemoryBudget;
  let dir: string;
  const otherKey = generateKey();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-request-memory-'));
    const keysFile = join(dir, 'keys.json');
    writeKeysFile(keysFile, [{ name: 'other', scope: 'ingest', sha256: hashKey(otherKey), createdAt: new Date().toISOString() }]);
    budget = createMemoryBudget(8 * MiB); // 2 MiB a key
    server = await startTestServer({ requestMemory: budget, keysFile });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After and records nothing while the bodies in flight hold it all', async () => {
    assert.equal(await budget.reserve(8 * MiB, 'others'), true);
    try {
      for (const [path, body] of [['/events', { user_id: 'held', event_type: 't' }], ['/events/batch', [{ user_id: 'held', event_type: 't' }]]] as const) {
        const refused = await fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        assert.equal(refused.status, 503, path);
        assert.equal(refused.headers.get('retry-after'), '1');
        assert.equal(await errorMessage(refused), BUSY);
      }
    } finally {
      budget.release(8 * MiB, 'others');
    }
    assert.equal(await server.database.countEvents('held'), 0);
    assert.equal((await server.post({ user_id: 'held', event_type: 't' })).status, 201);
    assert.equal(budget.reserved(), 0);
  });

  it('refuses a key that holds its share, while another key is still served', async () => {
    assert.equal(await budget.reserve(2 * MiB, ENV_KEY_NAME), true);
    try {
      const refused = await server.post({ user_id: 'share', event_type: 't' });
      assert.equal(refused.status, 503);
      assert.equal(await errorMessage(refused), BUSY);
      assert.equal((await server.post({ user_id: 'share', event_type: 't' }, { 'X-API-Key': otherKey })).status, 201);
    } finally {
      budget.release(2 * MiB, ENV_KEY_NAME);
    }
    assert.equal(await server.database.countEvents('share'), 1);
  });

  it('gives back what every body held, whatever became of its request', async () => {
    const post = (body: string | Uint8Array, headers: Record<string, string> = {}) => server.post(body, headers);
    assert.equal((await post('{"user_id":"u","event_type":"t"}')).status, 201);
    assert.equal((await post('{"user_id":')).status, 400);
    assert.equal((await post(new Uint8Array([0x7b, 0xff, 0x7d]))).status, 400);
    assert.equal((await post('{}', { 'Content-Type': 'text/plain' })).status, 415);
    assert.equal((await post('x'.repeat(2 * MiB))).status, 413);
    assert.equal((await fetch(`${server.url}/events/batch`, { method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' }, body: '[{}]' })).status, 400);
    // A client that sends half its body and hangs up.
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"user_id":`);
    socket.destroy();
    const deadline = Date.now() + 10_000;
    while (budget.reserved() !== 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(budget.reserved(), 0);
  });
});
