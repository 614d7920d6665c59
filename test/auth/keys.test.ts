import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKey, hashKey, writeKeysFile, type KeyRecord } from '../../src/auth/keys-file.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

const KEYS_CLI = fileURLToPath(new URL('../../src/cli/keys.js', import.meta.url));

function keysCli(keysFile: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KEYS_CLI, ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', AUDITOR_KEYS_FILE: keysFile } },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

const record = (name: string, scope: KeyRecord['scope'], key: string): KeyRecord => ({ name, scope, sha256: hashKey(key), createdAt: new Date().toISOString() });

describe('npm run keys', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-keys-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a key, printing it alone on stdout, and keeps only its SHA-256 in an owner-only file', async () => {
    const file = join(dir, 'keys.json');
    const created = await keysCli(file, ['create', '--name', 'billing', '--scope', 'ingest']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^adt_[A-Za-z0-9_-]{43}\n$/);
    const key = created.stdout.trim();
    assert.match(created.stderr, /Created key "billing" with scope ingest/);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(key));
    assert.ok(text.includes(hashKey(key)));
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const listed = await keysCli(file, ['list']);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /^billing\tingest\t\d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    assert.ok(!listed.stdout.includes(key) && !listed.stdout.includes(hashKey(key)));

    assert.equal((await keysCli(file, ['revoke', '--name', 'billing'])).code, 0);
    assert.equal((await keysCli(file, ['list'])).stdout, '');
  });

  it('refuses a duplicate name, a bad scope or name, an unknown key to revoke, and unknown commands', async () => {
    const file = join(dir, 'refusals.json');
    assert.equal((await keysCli(file, ['create', '--name', 'a', '--scope', 'read'])).code, 0);
    for (const [args, message] of [
      [['create', '--name', 'a', '--scope', 'read'], /a key named "a" exists/],
      [['create', '--name', 'b', '--scope', 'write'], /--scope must be one of ingest, read, admin/],
      [['create', '--name', 'has space', '--scope', 'read'], /--name must be/],
      [['revoke', '--name', 'nobody'], /no key named "nobody"/],
      [['rotate'], /usage:/],
    ] as const) {
      const result = await keysCli(file, [...args]);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stdout, '');
      assert.match(result.stderr, message);
    }
  });
});

describe('scoped keys over HTTP', () => {
  let dir: string;
  let keysFile: string;
  let server: TestServer;
  const ingestKey = generateKey();
  const readKey = generateKey();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-scopes-'));
    keysFile = join(dir, 'keys.json');
    writeKeysFile(keysFile, [record('billing', 'ingest', ingestKey), record('analyst', 'read', readKey)]);
    server = await startTestServer({ keysFile });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (key: string) => ({ 'X-API-Key': key });

  it('lets each scope do its own work and answers 403 for the rest', async () => {
    const posted = await server.post({ user_id: 'scoped', event_type: 't' }, as(ingestKey));
    assert.equal(posted.status, 201);
    const denied = await server.get('user_id=scoped', as(ingestKey));
    assert.equal(denied.status, 403);
    assert.match(await errorMessage(denied), /The key "billing" has scope ingest; this needs read/);

    assert.equal((await server.get('user_id=scoped', as(readKey))).status, 200);
    const cannotWrite = await server.post({ user_id: 'scoped', event_type: 't' }, as(readKey));
    assert.equal(cannotWrite.status, 403);
    assert.match(await errorMessage(cannotWrite), /scope read; this needs ingest/);

    const integrity = (key: string) => fetch(`${server.url}/integrity`, { headers: as(key) });
    assert.equal((await integrity(readKey)).status, 403);
    assert.equal((await integrity(ingestKey)).status, 403);
    assert.equal((await integrity(TEST_API_KEY)).status, 200); // AUDITOR_API_KEY is an admin key
    assert.equal((await server.get('user_id=scoped', as(generateKey()))).status, 401);
  });

  it('records which key wrote each event', async () => {
    const { id } = (await (await server.post({ user_id: 'who', event_type: 't' }, as(ingestKey))).json()) as { id: string };
    const { id: adminId } = (await (await server.post({ user_id: 'who', event_type: 't' })).json()) as { id: string };
    assert.equal(await server.database.keyNameOf(id), 'billing');
    assert.equal(await server.database.keyNameOf(adminId), 'AUDITOR_API_KEY');
    // The API's event keeps its five fields.
    const [event] = (await (await server.get('user_id=who', as(readKey))).json()) as Array<Record<string, unknown>>;
    assert.deepEqual(Object.keys(event!), ['id', 'timestamp', 'user_id', 'event_type', 'data']);
  });

  it('picks up new and revoked keys without a restart, dropping no request meanwhile', async () => {
    const lateKey = generateKey();
    assert.equal((await server.get('user_id=x', as(lateKey))).status, 401);

    let stop = false;
    const statuses: number[] = [];
    const traffic = (async () => {
      while (!stop) statuses.push((await server.get('user_id=x', as(readKey))).status);
    })();
    for (let i = 0; i < 5; i++) {
      writeKeysFile(keysFile, [record('billing', 'ingest', ingestKey), record('analyst', 'read', readKey), record(`late-${i}`, 'read', i === 4 ? lateKey : generateKey())]);
      await sleep(120);
    }
    let accepted = false;
    for (let i = 0; i < 40 && !accepted; i++) {
      accepted = (await server.get('user_id=x', as(lateKey))).status === 200;
      if (!accepted) await sleep(50);
    }
    assert.ok(accepted, 'the new key was picked up');

    writeKeysFile(keysFile, [record('billing', 'ingest', ingestKey), record('analyst', 'read', readKey)]);
    let refused = false;
    for (let i = 0; i < 40 && !refused; i++) {
      refused = (await server.get('user_id=x', as(lateKey))).status === 401;
      if (!refused) await sleep(50);
    }
    assert.ok(refused, 'the revoked key was refused');
    stop = true;
    await traffic;
    assert.ok(statuses.length > 10);
    assert.deepEqual(new Set(statuses), new Set([200]), 'every request during the reloads was served');
  });
});
