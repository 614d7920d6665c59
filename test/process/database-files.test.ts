import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runFailingService, startService, type ServiceProcess } from '../helpers/service-process.js';
import { mountSmallFilesystem } from '../helpers/small-filesystem.js';
import { writeProtect } from '../helpers/write-protect.js';

const KEY = 'database-files-key-0123456789';
const NOT_RECORDED = 'The event could not be stored and was not recorded; retry later';
const NOT_READY = 'The database cannot store events now';

function post(service: ServiceProcess, data: unknown = {}): Promise<Response> {
  return fetch(`${service.url}/events`, {
    method: 'POST',
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: 'files', event_type: 't', data }),
  });
}

/** Asserts the whole 503 the service gives for its own condition: JSON, Retry-After, this message. */
async function assertUnavailable(response: Response, message: string): Promise<void> {
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('retry-after'), '1');
  assert.deepEqual(await response.json(), { message });
}

/**
 * /readyz until it answers `status`. Readiness comes back through a probe write the service runs
 * at most once a second, so this polls, bounded by a deadline.
 */
async function readyzBecomes(service: ServiceProcess, status: number): Promise<Response> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await fetch(`${service.url}/readyz`);
    if (response.status === status || Date.now() > deadline) return response;
    await response.arrayBuffer();
    await sleep(100);
  }
}

async function stop(service: ServiceProcess): Promise<void> {
  service.child.kill('SIGTERM');
  await service.exited;
}

describe('the database file under a hostile environment', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-db-files-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start on a database file it cannot write, with one line that says what to check', async (t) => {
    const path = join(dir, 'write-protected', 'auditor.db');
    const env = { AUDITOR_API_KEY: KEY, AUDITOR_DB: path };
    await stop(await startService(env)); // a database the service made, then write-protected
    const protection = writeProtect(path);
    if (typeof protection === 'string') return t.skip(protection);
    try {
      const refused = await runFailingService(env);
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr, `auditor: AUDITOR_DB: cannot open the database at "${path}": the database cannot be written ` +
        '(attempt to write a readonly database): check the file\'s owner and mode, the free space on its disk, and that its file ' +
        'system is mounted read-write\n');
    } finally {
      protection.undo();
    }
  });

  it('answers /readyz 503 while the disk is full, and 200 again by itself once there is room', async (t) => {
    const fs = mountSmallFilesystem(1024);
    if (typeof fs === 'string') return t.skip(fs);
    t.after(() => fs.unmount());
    const service = await startService({ AUDITOR_API_KEY: KEY, AUDITOR_DB: join(fs.dir, 'auditor.db') });
    try {
      assert.equal((await post(service, { n: 0 })).status, 201);
      assert.equal((await fetch(`${service.url}/readyz`)).status, 200);

      fs.fill();
      const refused = await post(service, { n: 1, padding: 'x'.repeat(16 * 1024) });
      await assertUnavailable(refused, NOT_RECORDED);
      await assertUnavailable(await fetch(`${service.url}/readyz`), NOT_READY);
      await assertUnavailable(await fetch(`${service.url}/readyz`), NOT_READY); // and again, from the throttled probe's answer

      fs.free();
      assert.equal((await readyzBecomes(service, 200)).status, 200);
      assert.equal((await post(service, { n: 2 })).status, 201);
      const stored = await fetch(`${service.url}/events?user_id=files`, { headers: { 'X-API-Key': KEY } });
      assert.deepEqual(((await stored.json()) as Array<{ data: { n: number } }>).map((event) => event.data.n), [0, 2]);
    } finally {
      await stop(service);
    }
  });
});
