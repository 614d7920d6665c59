import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { skipWithoutRoot } from '../helpers/root-only.js';
import { runFailingService, startService, type ServiceProcess } from '../helpers/service-process.js';
import { mountSmallFilesystem } from '../helpers/small-filesystem.js';
import { writeProtect } from '../helpers/write-protect.js';

const KEY = 'database-files-key-0123456789';
const VERIFY = fileURLToPath(new URL('../../src/cli/verify.js', import.meta.url));
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

/** The service's log lines so far, parsed. */
function logLines(service: ServiceProcess): Array<Record<string, unknown>> {
  return service.stdout().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Resolves with the first log line that `matches`, as soon as the service writes it. */
function logLine(service: ServiceProcess, matches: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const look = (): void => {
      const line = logLines(service).find(matches);
      if (line === undefined) return;
      service.child.stdout!.off('data', look);
      resolve(line);
    };
    service.child.stdout!.on('data', look);
    void service.exited.then((code) => reject(new Error(`the service exited (${code}) before logging the line`)));
    look();
  });
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

  it('notices its database file deleted while it runs: 503 to writes and /readyz, one loud line, and a copy of what it held', async () => {
    const path = join(dir, 'deleted', 'auditor.db');
    const env = { AUDITOR_API_KEY: KEY, AUDITOR_DB: path };
    const service = await startService(env);
    const acknowledged: string[] = [];
    try {
      for (let n = 0; n < 3; n++) {
        const response = await post(service, { n });
        assert.equal(response.status, 201);
        acknowledged.push(((await response.json()) as { id: string }).id);
      }
      rmSync(path);
      rmSync(`${path}-wal`);

      await assertUnavailable(await fetch(`${service.url}/readyz`), NOT_READY);
      await assertUnavailable(await post(service, { n: 3 }), NOT_RECORDED);
      const rescued = await logLine(service, (line) => String(line.msg).startsWith('copied everything the lost database held'));
      await assertUnavailable(await post(service, { n: 4 }), NOT_RECORDED);
      await assertUnavailable(await fetch(`${service.url}/readyz`), NOT_READY);

      const loud = logLines(service).filter((line) => String(line.msg).startsWith('DATABASE FILE LOST'));
      assert.equal(loud.length, 1, 'said once');
      assert.equal(loud[0]!.level, 'error');
      assert.equal(loud[0]!.database, path);
      const copy = readdirSync(join(dir, 'deleted')).find((name) => name.startsWith('auditor.db.rescued-'));
      assert.ok(copy !== undefined);
      assert.match(String(loud[0]!.msg), new RegExp(`^DATABASE FILE LOST: ${path}(-wal)? was deleted\\. Every write is refused \\(503\\)`));
      assert.equal(rescued.msg, `copied everything the lost database held to ${join(dir, 'deleted', copy)}: stop the service, move that file to ${path}, and start it again`);
      assert.equal(statSync(join(dir, 'deleted', copy)).mode & 0o777, 0o600);
    } finally {
      await stop(service);
    }

    // A restart would begin an empty log beside the old chain secret: refused, saying what to do.
    const refused = await runFailingService(env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `auditor: AUDITOR_DB: cannot open the database at "${path}": there is no database file, but ` +
      `${path}.created, ${join(dir, 'deleted', 'chain.secret')}, and ${path}.signing.key of an earlier one are there: restore the database (with its -wal, if it had one) ` +
      'from a backup, or set AUDITOR_ALLOW_NEW_DATABASE=1 once to start a new, empty log\n');

    // The copy put back, everything acknowledged is there, and the chain goes on.
    const copy = readdirSync(join(dir, 'deleted')).find((name) => name.startsWith('auditor.db.rescued-'))!;
    renameSync(join(dir, 'deleted', copy), path);
    const restarted = await startService(env);
    try {
      assert.equal((await post(restarted, { n: 5 })).status, 201);
      const stored = await fetch(`${restarted.url}/events?user_id=files`, { headers: { 'X-API-Key': KEY } });
      const events = (await stored.json()) as Array<{ id: string; data: { n: number } }>;
      assert.deepEqual(events.slice(0, 3).map((event) => event.id), acknowledged);
      assert.deepEqual(events.map((event) => event.data.n), [0, 1, 2, 5]);
    } finally {
      await stop(restarted);
    }
  });

  it('copies what it holds when its whole data folder is removed: the folder made again (0700), the copy, the marker, chain.secret and the signing key', async () => {
    const folder = join(dir, 'removed');
    const path = join(folder, 'auditor.db');
    const env = { AUDITOR_API_KEY: KEY, AUDITOR_DB: path };
    const service = await startService(env);
    const acknowledged: string[] = [];
    let secret: string;
    let signingKey: string;
    try {
      for (let n = 0; n < 3; n++) {
        const response = await post(service, { n });
        assert.equal(response.status, 201);
        acknowledged.push(((await response.json()) as { id: string }).id);
      }
      secret = readFileSync(join(folder, 'chain.secret'), 'utf8');
      signingKey = readFileSync(`${path}.signing.key`, 'utf8');
      rmSync(folder, { recursive: true });

      await assertUnavailable(await post(service, { n: 3 }), NOT_RECORDED);
      const outcome = await logLine(service, (line) => /^(copied everything|could not copy)/.test(String(line.msg)));
      const copy = readdirSync(folder).find((name) => name.startsWith('auditor.db.rescued-'));
      assert.ok(copy !== undefined, String(outcome.msg));
      assert.equal(outcome.msg, `copied everything the lost database held to ${join(folder, copy)}: stop the service, move that file to ${path}, and start it again`);
      assert.deepEqual(readdirSync(folder).sort(), ['auditor.db.created', copy, 'auditor.db.signing.key', 'chain.secret'].sort());
      assert.equal(statSync(folder).mode & 0o777, 0o700);
      for (const name of readdirSync(folder)) assert.equal(statSync(join(folder, name)).mode & 0o777, 0o600, name);
      assert.equal(readFileSync(join(folder, 'chain.secret'), 'utf8'), secret, 'the secret the events were chained with');
      assert.equal(readFileSync(`${path}.signing.key`, 'utf8'), signingKey, 'the key the checkpoints were signed with');
    } finally {
      await stop(service);
    }

    const copy = readdirSync(folder).find((name) => name.startsWith('auditor.db.rescued-'))!;
    renameSync(join(folder, copy), path);
    const restarted = await startService(env);
    try {
      assert.equal((await post(restarted, { n: 4 })).status, 201);
      const stored = await fetch(`${restarted.url}/events?user_id=files`, { headers: { 'X-API-Key': KEY } });
      const events = (await stored.json()) as Array<{ id: string; data: { n: number } }>;
      assert.deepEqual(events.slice(0, 3).map((event) => event.id), acknowledged);
      assert.deepEqual(events.map((event) => event.data.n), [0, 1, 2, 4]);
    } finally {
      await stop(restarted);
    }
    const verified = spawnSync(process.execPath, [VERIFY], { env: { PATH: process.env.PATH ?? '', AUDITOR_DB: path }, encoding: 'utf8' });
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  });

  it('starts a new, empty log beside an earlier one\'s chain secret only when told to', async () => {
    const path = join(dir, 'replaced', 'auditor.db');
    const env = { AUDITOR_API_KEY: KEY, AUDITOR_DB: path };
    const first = await startService(env);
    assert.equal((await post(first)).status, 201);
    await stop(first);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });

    assert.equal((await runFailingService(env)).code, 1);
    const allowed = await startService({ ...env, AUDITOR_ALLOW_NEW_DATABASE: '1' });
    try {
      const stored = await fetch(`${allowed.url}/events?user_id=files`, { headers: { 'X-API-Key': KEY } });
      assert.deepEqual(await stored.json(), []);
      assert.equal((await post(allowed)).status, 201);
    } finally {
      await stop(allowed);
    }
    const again = await startService(env); // the new database is there now: no need to say so again
    await stop(again);
  });

  it('refuses to start a new, empty log where its database was, with AUDITOR_CHAIN_SECRET set and no -wal after a clean stop', async () => {
    const folder = join(dir, 'configured-secret');
    const path = join(folder, 'auditor.db');
    const marker = `${path}.created`;
    const env = {
      AUDITOR_API_KEY: KEY, AUDITOR_DB: path, AUDITOR_CHAIN_SECRET: 'configured-chain-secret-0123456789abcdef', AUDITOR_SIGNING_KEY_FILE: join(dir, 'configured.signing.key'),
    };
    const first = await startService(env);
    assert.equal((await post(first)).status, 201);
    await stop(first);
    // Nothing else of the database is left to tell that one lived here: no chain.secret, no -wal;
    // and AUDITOR_SIGNING_KEY_FILE keeps the signing key elsewhere.
    assert.deepEqual(readdirSync(folder).sort(), ['auditor.db', 'auditor.db.created']);
    assert.equal(statSync(marker).mode & 0o777, 0o600);
    assert.match(readFileSync(marker, 'utf8'), /^An Auditor SQLite database lives beside this file: auditor\.db \(written [^)]+\)\.\n/);
    const markerBefore = statSync(marker).ino;

    rmSync(path);
    const refused = await runFailingService(env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `auditor: AUDITOR_DB: cannot open the database at "${path}": there is no database file, but ` +
      `${marker} of an earlier one is there: restore the database (with its -wal, if it had one) from a backup, or set ` +
      'AUDITOR_ALLOW_NEW_DATABASE=1 once to start a new, empty log\n');
    assert.deepEqual(readdirSync(folder), ['auditor.db.created'], 'nothing created');

    const allowed = await startService({ ...env, AUDITOR_ALLOW_NEW_DATABASE: '1' });
    try {
      const stored = await fetch(`${allowed.url}/events?user_id=files`, { headers: { 'X-API-Key': KEY } });
      assert.deepEqual(await stored.json(), []);
    } finally {
      await stop(allowed);
    }
    assert.notEqual(statSync(marker).ino, markerBefore, 'the new database has a marker of its own');
    await stop(await startService(env));
  });

  it('creates the database, its -wal and -shm, chain.secret, the signing key and their folder for their owner only', async () => {
    const folder = join(dir, 'modes');
    const service = await startService({ AUDITOR_API_KEY: KEY, AUDITOR_DB: join(folder, 'auditor.db') });
    try {
      assert.equal((await post(service)).status, 201);
      const modes = Object.fromEntries(readdirSync(folder).map((name) => [name, statSync(join(folder, name)).mode & 0o777]));
      assert.deepEqual(modes, { 'auditor.db': 0o600, 'auditor.db-wal': 0o600, 'auditor.db-shm': 0o600, 'auditor.db.created': 0o600, 'auditor.db.signing.key': 0o600, 'chain.secret': 0o600 });
      assert.equal(statSync(folder).mode & 0o777, 0o700);
    } finally {
      await stop(service);
    }
  });

  it('refuses to start with a chain.secret that is not what it writes (empty, after a full disk)', async () => {
    const path = join(dir, 'empty-secret', 'auditor.db');
    const env = { AUDITOR_API_KEY: KEY, AUDITOR_DB: path };
    await stop(await startService(env));
    writeFileSync(join(dir, 'empty-secret', 'chain.secret'), '');
    const refused = await runFailingService(env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `auditor: AUDITOR_DB: cannot open the database at "${path}": ${join(dir, 'empty-secret', 'chain.secret')} ` +
      'is not what this service writes there (expected 43 base64url characters and a line break; it holds 0 bytes): restore it ' +
      'from a backup; only if nothing was ever written with it, delete it to have a new one made\n');
  });

  it('refuses to start on a database file it cannot write, with one line that says what to check', async (t) => {
    const path = join(dir, 'write-protected', 'auditor.db');
    const env = { AUDITOR_API_KEY: KEY, AUDITOR_DB: path };
    await stop(await startService(env)); // a database the service made, then write-protected
    const protection = writeProtect(path);
    if (typeof protection === 'string') return skipWithoutRoot(t, protection);
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
    if (typeof fs === 'string') return skipWithoutRoot(t, fs);
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
