import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKey, hashKey, writeKeysFile } from '../../src/auth/keys-file.js';
import { createTestDatabase } from '../helpers/test-database.js';
import { errorMessage, startTestServer, type TestServer } from '../helpers/test-server.js';

describe('Idempotency-Key', () => {
  let dir: string;
  let server: TestServer;
  const otherKey = generateKey();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-idempotency-'));
    const keysFile = join(dir, 'keys.json');
    writeKeysFile(keysFile, [{ name: 'other-service', scope: 'ingest', sha256: hashKey(otherKey), createdAt: new Date().toISOString() }]);
    server = await startTestServer({ keysFile });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: unknown, key: string, headers: Record<string, string> = {}) =>
    server.post(body, { 'Idempotency-Key': key, ...headers });

  it('answers a retry with the original 201 and id, marked replayed, and stores once', async () => {
    const event = { user_id: 'idem-1', event_type: 'payment', data: { amount: 10 } };
    const first = await post(event, 'retry-1');
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const { id } = (await first.json()) as { id: string };

    // The same event, spelled with other white space, is the same request.
    const retry = await post('{ "user_id": "idem-1", "event_type": "payment", "data": { "amount": 10 } }', 'retry-1');
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.headers.get('location'), `/events/${id}`);
    assert.deepEqual(await retry.json(), { message: 'Event recorded', id });
    assert.equal(await server.database.countEvents('idem-1'), 1);
  });

  it('refuses the same key with a different event with 422, storing nothing', async () => {
    assert.equal((await post({ user_id: 'idem-2', event_type: 't', data: { n: 1 } }, 'reused')).status, 201);
    const changed = await post({ user_id: 'idem-2', event_type: 't', data: { n: 2 } }, 'reused');
    assert.equal(changed.status, 422);
    assert.match(await errorMessage(changed), /Idempotency-Key "reused" was already used for a different event; nothing was recorded/);
    assert.equal(await server.database.countEvents('idem-2'), 1);
  });

  it('stores one event for many concurrent retries', async () => {
    const responses = await Promise.all(Array.from({ length: 30 }, () => post({ user_id: 'idem-3', event_type: 't' }, 'burst')));
    const ids = new Set(await Promise.all(responses.map(async (r) => {
      assert.equal(r.status, 201);
      return ((await r.json()) as { id: string }).id;
    })));
    assert.equal(ids.size, 1);
    assert.equal(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 29);
    assert.equal(await server.database.countEvents('idem-3'), 1);
  });

  it('keeps keys of different API keys apart', async () => {
    assert.equal((await post({ user_id: 'idem-4', event_type: 't' }, 'shared-name')).status, 201);
    const other = await post({ user_id: 'idem-4', event_type: 't' }, 'shared-name', { 'X-API-Key': otherKey });
    assert.equal(other.status, 201);
    assert.equal(other.headers.get('idempotent-replayed'), null);
    assert.equal(await server.database.countEvents('idem-4'), 2);
  });

  it('refuses a malformed key with 400', async () => {
    for (const key of ['has space', 'x'.repeat(256), 'é']) {
      const response = await post({ user_id: 'idem-5', event_type: 't' }, key);
      assert.equal(response.status, 400, key);
      assert.match(await errorMessage(response), /Idempotency-Key must be 1 to 255 visible ASCII characters/);
    }
    assert.equal(await server.database.countEvents('idem-5'), 0);
  });

  it('survives a restart, and holds for 24 hours only', async () => {
    const database = await createTestDatabase();
    const event = { userId: 'idem-6', eventType: 't', dataJson: '{}', keyName: 'svc', idempotencyKey: 'k' };
    let store = await database.openStore();
    const first = await store.append(event);
    await store.close();
    store = await database.openStore();
    try {
      const again = await store.append(event);
      assert.equal(again.id, first.id);
      assert.equal(again.replayed, true);

      // Age the record past the window: the key then stores a new event.
      await database.ageIdempotencyRecords(24 * 3600 * 1000 + 1);
      const later = await store.append(event);
      assert.notEqual(later.id, first.id);
      assert.equal(later.replayed, undefined);
    } finally {
      await store.close();
      await database.drop();
    }
  });
});
