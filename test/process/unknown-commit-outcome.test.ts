import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from '../../src/store/sqlite/sqlite-driver.js';
import { startService, type ServiceProcess } from '../helpers/service-process.js';

const KEY = 'unknown-commit-outcome-key-0123456789';
const WRITER_FAULTS = fileURLToPath(new URL('../helpers/writer-faults.cjs', import.meta.url));
const MAY_HAVE_BEEN_RECORDED = 'The database did not confirm the commit: the event may or may not have been recorded. ' +
  'Retry with the same Idempotency-Key: that stores it once, whichever happened';

/** The service on `path`, with the writer thread's COMMIT faulted as `fault` says (see writer-faults.cts), or not. */
function start(path: string, fault?: string): Promise<ServiceProcess> {
  return startService({
    AUDITOR_API_KEY: KEY,
    AUDITOR_DB: path,
    ...(fault === undefined ? {} : { NODE_OPTIONS: `--require=${WRITER_FAULTS}`, AUDITOR_TEST_WRITER_FAULT: fault }),
  });
}

function post(service: ServiceProcess, eventType: string, idempotencyKey: string): Promise<Response> {
  return fetch(`${service.url}/events`, {
    method: 'POST',
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
    body: JSON.stringify({ user_id: 'unknown', event_type: eventType }),
  });
}

async function assertMayHaveBeenRecorded(response: Response): Promise<void> {
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('retry-after'), '1');
  assert.deepEqual(await response.json(), { message: MAY_HAVE_BEEN_RECORDED });
}

async function eventTypes(service: ServiceProcess): Promise<string[]> {
  const response = await fetch(`${service.url}/events?user_id=unknown`, { headers: { 'X-API-Key': KEY } });
  assert.equal(response.status, 200);
  return ((await response.json()) as Array<{ event_type: string }>).map((event) => event.event_type);
}

async function stop(service: ServiceProcess): Promise<void> {
  service.child.kill('SIGTERM');
  await service.exited;
}

/**
 * A COMMIT that ran, but whose success the writer could not confirm: its events are in the log,
 * so "not recorded" would be false, and a client that believed it would store them twice.
 */
describe('the SQLite writer when a COMMIT ran but could not be confirmed', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-unknown-commit-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [fault, how] of [
    ['exit-after-commit', 'the writer thread stops before it answers'],
    ['ioerr-after-commit', 'COMMIT reports an I/O error (a failed fsync) after writing the commit to the WAL'],
  ] as const) {
    it(`answers 503 "may or may not have been recorded" when ${how}, and a retry after a restart replays the event`, async () => {
      const path = join(dir, fault, 'auditor.db');
      const faulted = await start(path, fault);
      try {
        assert.equal((await post(faulted, 'before', 'k-before')).status, 201);
        await assertMayHaveBeenRecorded(await post(faulted, 'writer-fault', 'k-fault'));
      } finally {
        await stop(faulted);
      }
      const restarted = await start(path);
      try {
        assert.deepEqual(await eventTypes(restarted), ['before', 'writer-fault'], 'it was recorded');
        const retry = await post(restarted, 'writer-fault', 'k-fault');
        assert.equal(retry.status, 201);
        assert.equal(retry.headers.get('idempotent-replayed'), 'true');
        assert.deepEqual(await eventTypes(restarted), ['before', 'writer-fault'], 'and stored once');
      } finally {
        await stop(restarted);
      }
    });
  }

  it('answers 503 "may or may not have been recorded" when the database file is deleted during the COMMIT, whose events the rescued copy holds', async () => {
    const path = join(dir, 'lost', 'auditor.db');
    const service = await start(path, 'lose-file-after-commit');
    try {
      assert.equal((await post(service, 'before', 'k-before')).status, 201);
      await assertMayHaveBeenRecorded(await post(service, 'writer-fault', 'k-fault'));
      await service.waitFor('stdout', /"msg":"copied everything the lost database held/);
    } finally {
      await stop(service);
    }
    const copy = readdirSync(join(dir, 'lost')).find((name) => name.startsWith('auditor.db.rescued-'));
    assert.ok(copy !== undefined, 'a rescued copy');
    const db = new Database(join(dir, 'lost', copy), { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT event_type FROM events ORDER BY seq').pluck().all(), ['before', 'writer-fault']);
    } finally {
      db.close();
    }
  });
});
