import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { skipWithoutRoot } from '../helpers/root-only.js';
import { startService, type ServiceProcess } from '../helpers/service-process.js';
import { mountSmallFilesystem } from '../helpers/small-filesystem.js';

const KEY = 'full-disk-commit-key-0123456789';

function send(service: ServiceProcess, path: string, body: unknown): Promise<Response> {
  return fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function assertUnavailable(response: Response, message: string): Promise<void> {
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('retry-after'), '1');
  assert.deepEqual(await response.json(), { message });
}

async function eventTypes(service: ServiceProcess): Promise<string[]> {
  const response = await fetch(`${service.url}/events?user_id=full`, { headers: { 'X-API-Key': KEY } });
  assert.equal(response.status, 200);
  return ((await response.json()) as Array<{ event_type: string }>).map((event) => event.event_type);
}

/**
 * In WAL mode SQLite writes a transaction's pages to the -wal file only at COMMIT: on a disk with
 * no free block every INSERT of the batch succeeds and the COMMIT itself fails with SQLITE_FULL.
 * So these requests reach the real writer thread's COMMIT and see it fail, with no fake.
 */
describe('the SQLite writer when its COMMIT fails (a full disk)', () => {
  it('answers 503, never 201, to a batch and to a single event, records neither, and records again once there is room', async (t) => {
    const fs = mountSmallFilesystem(1024);
    if (typeof fs === 'string') return skipWithoutRoot(t, fs);
    t.after(() => fs.unmount());
    const env = { AUDITOR_API_KEY: KEY, AUDITOR_DB: join(fs.dir, 'auditor.db') };
    let service = await startService(env);
    try {
      assert.equal((await send(service, '/events', { user_id: 'full', event_type: 'before' })).status, 201);

      fs.fill();
      await assertUnavailable(await send(service, '/events/batch', [{ user_id: 'full', event_type: 'batch-a' }, { user_id: 'full', event_type: 'batch-b' }]),
        'The events could not be stored and none was recorded; retry later');
      await assertUnavailable(await send(service, '/events', { user_id: 'full', event_type: 'single' }),
        'The event could not be stored and was not recorded; retry later');
      assert.deepEqual(await eventTypes(service), ['before']);

      fs.free();
      assert.equal((await send(service, '/events/batch', [{ user_id: 'full', event_type: 'after' }])).status, 201);
      assert.deepEqual(await eventTypes(service), ['before', 'after']);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    // What a restart finds on disk: the same, so nothing refused was committed after all.
    service = await startService(env);
    try {
      assert.deepEqual(await eventTypes(service), ['before', 'after']);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });
});
