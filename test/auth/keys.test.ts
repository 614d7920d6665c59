import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createKeyRegistry, LOOK_BUDGET } from '../../src/auth/key-registry.js';
import { generateKey, hashKey, readKeysFile, writeKeysFile, type KeyRecord } from '../../src/auth/keys-file.js';
import { silentLogger } from '../../src/ops/logger.js';
import { captureLog, type CapturedLog } from '../helpers/capture-log.js';
import { runFailingService } from '../helpers/service-process.js';
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

describe('names the service records itself', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-reserved-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to create a key named AUDITOR_API_KEY or unknown, in any case, and writes nothing', async () => {
    const file = join(dir, 'create.json');
    for (const name of ['AUDITOR_API_KEY', 'auditor_api_key', 'Auditor_Api_Key', 'unknown', 'UNKNOWN']) {
      const result = await keysCli(file, ['create', '--name', name, '--scope', 'admin']);
      assert.equal(result.code, 2, name);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, `keys: "${name}" is a name the service records itself (for AUDITOR_API_KEY, or for an event without a key); choose another --name\n`);
    }
    assert.deepEqual(readKeysFile(file), [], 'no keys file was written');
    assert.equal((await keysCli(file, ['create', '--name', 'AUDITOR_API_KEY_2', '--scope', 'read'])).code, 0, 'a longer name is fine');
  });

  it('refuses to start on a keys file that holds one, saying which and how to repair it with npm run keys', async () => {
    const file = join(dir, 'holds-reserved.json');
    const spoofing = generateKey();
    writeKeysFile(file, [record('billing', 'ingest', generateKey()), record('AUDITOR_API_KEY', 'ingest', spoofing)]);
    const failed = await runFailingService({ AUDITOR_KEYS_FILE: file, AUDITOR_API_KEY: TEST_API_KEY, AUDITOR_DB: join(dir, 'never.db') });
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr, `auditor: AUDITOR_KEYS_FILE: cannot read "${file}": key 2 is named "AUDITOR_API_KEY", a name the service records itself; ` +
      'remove it with npm run keys -- revoke --name AUDITOR_API_KEY, and create that key again under another name\n');

    const create = await keysCli(file, ['create', '--name', 'other', '--scope', 'read']);
    assert.equal(create.code, 2);
    assert.match(create.stderr, /^keys: cannot read .*: key 2 is named "AUDITOR_API_KEY", a name the service records itself/);
    const listed = await keysCli(file, ['list']);
    assert.match(listed.stdout, /^billing\tingest\t.*\nAUDITOR_API_KEY\tingest\t/);
    assert.equal((await keysCli(file, ['revoke', '--name', 'AUDITOR_API_KEY'])).code, 0);
    assert.deepEqual(readKeysFile(file).map((r) => r.name), ['billing']);
  });
});

describe('generateKey', () => {
  it('makes keys of adt_ and 43 base64url characters (32 random bytes), never the same twice', () => {
    const keys = Array.from({ length: 100 }, generateKey);
    for (const key of keys) {
      assert.match(key, /^adt_[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(key.slice(4), 'base64url').length, 32);
    }
    assert.equal(new Set(keys).size, keys.length);
  });
});

describe('readKeysFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-keys-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const good = { name: 'billing', scope: 'ingest', sha256: hashKey('k1'), created_at: '2026-01-02T03:04:05.678Z' };
  const other = { name: 'analyst', scope: 'read', sha256: hashKey('k2'), created_at: '2026-01-02T03:04:05.678Z' };

  it('reads back exactly what writeKeysFile wrote, and nothing when there is no file', () => {
    const file = join(dir, 'written.json');
    assert.deepEqual(readKeysFile(file), []);
    const records: KeyRecord[] = [record('billing', 'ingest', 'k1'), record('analyst', 'read', 'k2'), record('a', 'admin', 'k3'), record(`x.y_z-${'9'.repeat(58)}`, 'read', 'k4')];
    writeKeysFile(file, records);
    assert.deepEqual(readKeysFile(file), records);
  });

  it('writes an owner-only file of a "keys" list, each key\'s name, scope, SHA-256 and creation time, and never the key', () => {
    const file = join(dir, 'new', 'folder', 'format.json');
    writeKeysFile(file, [{ name: 'billing', scope: 'ingest', sha256: hashKey('adt_example-key'), createdAt: '2026-01-02T03:04:05.678Z' }]);
    assert.equal(readFileSync(file, 'utf8'), `{
  "keys": [
    {
      "name": "billing",
      "scope": "ingest",
      "sha256": "ab179fc79569d29e7f3d15e61b20d08314696e5a99db72e6b348bb24eafe9070",
      "created_at": "2026-01-02T03:04:05.678Z"
    }
  ]
}
`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    writeKeysFile(file, []);
    assert.deepEqual(readKeysFile(file), [], 'replaced whole');
  });

  it('refuses a keys file it cannot read rather than taking it for no keys', () => {
    assert.throws(() => readKeysFile(dir), { code: 'EISDIR' });
  });

  it('refuses a file npm run keys would not have written, saying what is wrong', () => {
    const file = join(dir, 'bad.json');
    for (const [text, message] of [
      ['', /^the file is empty/],
      ['\n', /^the file is empty/],
      ['{"keys": [', /^not JSON \(/],
      ['null', /^expected an object with only a "keys" list/],
      ['[]', /^expected an object with only a "keys" list/],
      ['{"keys": {}}', /^expected an object with only a "keys" list/],
      [JSON.stringify({ keys: [good], extra: 1 }), /^expected an object with only a "keys" list/],
      [JSON.stringify({ keys: [{ ...good, admin: true }] }), /^key 1 must have exactly the properties name, scope, sha256, created_at$/],
      [JSON.stringify({ keys: [{ name: 'a', scope: 'read', sha256: hashKey('x') }] }), /^key 1 must have exactly the properties/],
      [JSON.stringify({ keys: [null] }), /^key 1 must have exactly the properties/],
      [JSON.stringify({ keys: [{ name: 'a', scope: 'read', sha256: hashKey('x'), createdAt: good.created_at }] }), /^key 1 must have exactly the properties/],
      [JSON.stringify({ keys: [{ ...good, name: 'has space' }] }), /^key 1 has a malformed name$/],
      [JSON.stringify({ keys: [{ ...good, name: '' }] }), /^key 1 has a malformed name$/],
      [JSON.stringify({ keys: [{ ...good, name: 'n'.repeat(65) }] }), /^key 1 has a malformed name$/],
      [JSON.stringify({ keys: [{ ...good, name: 12345 }] }), /^key 1 has a malformed name$/],
      [JSON.stringify({ keys: [{ ...good, scope: 'write' }] }), /^key 1 \("billing"\) has scope "write", not one of ingest, read, admin$/],
      [JSON.stringify({ keys: [{ ...good, sha256: good.sha256.toUpperCase() }] }), /^key 1 \("billing"\) has a malformed sha256$/],
      [JSON.stringify({ keys: [{ ...good, sha256: good.sha256.slice(1) }] }), /^key 1 \("billing"\) has a malformed sha256$/],
      [JSON.stringify({ keys: [{ ...good, sha256: `${good.sha256}0` }] }), /^key 1 \("billing"\) has a malformed sha256$/],
      [JSON.stringify({ keys: [{ ...good, sha256: [good.sha256] }] }), /^key 1 \("billing"\) has a malformed sha256$/],
      [JSON.stringify({ keys: [{ ...good, created_at: '2026-01-02' }] }), /^key 1 \("billing"\) has a malformed created_at$/],
      [JSON.stringify({ keys: [{ ...good, created_at: 'yesterday' }] }), /^key 1 \("billing"\) has a malformed created_at$/],
      [JSON.stringify({ keys: [good, { ...other, name: 'billing' }] }), /^key 2: the name "billing" is used twice$/],
      [JSON.stringify({ keys: [good, { ...other, sha256: good.sha256 }] }), /^key 2 \("analyst"\) has the same key as an earlier one$/],
      [JSON.stringify({ keys: [good, { ...other, name: 'Unknown' }] }), /^key 2 is named "Unknown", a name the service records itself/],
    ] as const) {
      writeFileSync(file, text);
      assert.throws(() => readKeysFile(file), (error: Error) => message.test(error.message), text);
    }
    writeFileSync(file, JSON.stringify({ keys: [good, { ...other, name: 'AUDITOR_API_KEY' }] }));
    assert.deepEqual(readKeysFile(file, { allowReservedNames: true }).map((r) => r.name), ['billing', 'AUDITOR_API_KEY'], 'revoke can still read it');
  });
});

describe('createKeyRegistry', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-registry-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('looks at the keys file again for an unknown key, within a budget of looks, and reloads only a changed file', () => {
    const file = join(dir, 'looks.json');
    const log = captureLog();
    let clock = 0;
    const registry = createKeyRegistry({ keysFile: file, log: log.logger, pollMs: 3_600_000, now: () => clock });
    try {
      const first = generateKey();
      assert.equal(registry.find(hashKey(first)), undefined);
      writeKeysFile(file, [record('first', 'read', first)]);
      assert.deepEqual(registry.find(hashKey(first)), { keyName: 'first', scope: 'read' }, 'found at its very first use');
      for (let i = 0; i < LOOK_BUDGET.burst; i++) assert.equal(registry.find(hashKey(generateKey())), undefined);
      assert.equal(log.lines.filter((line) => line.msg === 'keys reloaded').length, 1, 'an unchanged file is not read again');

      const second = generateKey();
      writeKeysFile(file, [record('first', 'read', first), record('second', 'ingest', second)]);
      assert.equal(registry.find(hashKey(second)), undefined, 'the budget of looks is spent: no look');
      clock += 1000 / LOOK_BUDGET.ratePerSecond;
      assert.deepEqual(registry.find(hashKey(second)), { keyName: 'second', scope: 'ingest' }, 'one look later');
      assert.equal(log.lines.filter((line) => line.msg === 'keys reloaded').length, 2);
    } finally {
      registry.close();
    }
  });

  it('spends its looks at the file on unknown keys only: a key created after a flood of requests with known keys works at once', () => {
    const file = join(dir, 'known.json');
    const known = generateKey();
    writeKeysFile(file, [record('known', 'read', known)]);
    const registry = createKeyRegistry({ keysFile: file, log: silentLogger, pollMs: 3_600_000, now: () => 0 });
    try {
      for (let i = 0; i < 2 * LOOK_BUDGET.burst; i++) assert.deepEqual(registry.find(hashKey(known)), { keyName: 'known', scope: 'read' });
      const created = generateKey();
      writeKeysFile(file, [record('known', 'read', known), record('created', 'ingest', created)]);
      assert.deepEqual(registry.find(hashKey(created)), { keyName: 'created', scope: 'ingest' });
    } finally {
      registry.close();
    }
  });

  it('is given digests and looks up digests: a key in plain text is refused by the compiler, and matches nothing', () => {
    const admin = generateKey();
    const registry = createKeyRegistry({ adminKeySha256: hashKey(admin), log: silentLogger });
    // These lines must not compile: `npm run build` fails on a @ts-expect-error with no error.
    // @ts-expect-error the admin key in plain text, where its digest belongs
    const misconfigured = createKeyRegistry({ adminKeySha256: admin, log: silentLogger });
    try {
      assert.deepEqual(registry.find(hashKey(admin)), { keyName: 'AUDITOR_API_KEY', scope: 'admin' });
      // @ts-expect-error a presented key looked up without hashing it
      assert.equal(registry.find(admin), undefined);
      assert.equal(misconfigured.find(hashKey(admin)), undefined);
    } finally {
      registry.close();
      misconfigured.close();
    }
  });

  it('keeps the previous keys when a changed file is refused, and says why once', () => {
    const file = join(dir, 'refused.json');
    const log = captureLog();
    const kept = generateKey();
    writeKeysFile(file, [record('kept', 'ingest', kept)]);
    const registry = createKeyRegistry({ keysFile: file, log: log.logger, pollMs: 3_600_000 });
    try {
      const spoofing = generateKey();
      writeKeysFile(file, [record('kept', 'ingest', kept), record('auditor_api_key', 'ingest', spoofing)]);
      assert.equal(registry.find(hashKey(spoofing)), undefined);
      assert.equal(registry.find(hashKey(generateKey())), undefined);
      assert.deepEqual(registry.find(hashKey(kept)), { keyName: 'kept', scope: 'ingest' });
      assert.deepEqual(log.lines.map(({ level, msg, file: named, error }) => ({ level, msg, file: named, error })), [{
        level: 'error',
        msg: 'keys file unreadable; keeping the previous keys',
        file,
        error: 'key 2 is named "auditor_api_key", a name the service records itself; remove it with npm run keys -- revoke --name auditor_api_key, and create that key again under another name',
      }]);
    } finally {
      registry.close();
    }
  });
});

describe('scoped keys over HTTP', () => {
  let dir: string;
  let keysFile: string;
  let server: TestServer;
  let log: CapturedLog;
  const ingestKey = generateKey();
  const readKey = generateKey();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-scopes-'));
    keysFile = join(dir, 'keys.json');
    writeKeysFile(keysFile, [record('billing', 'ingest', ingestKey), record('analyst', 'read', readKey)]);
    log = captureLog();
    server = await startTestServer({ keysFile, log: log.logger });
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

  it('accepts a key at its first request once created, refuses it after the next poll once revoked, and drops no request', async () => {
    const lateKey = generateKey();
    assert.equal((await server.get('user_id=x', as(lateKey))).status, 401);

    let stop = false;
    const statuses: number[] = [];
    const traffic = (async () => {
      // At least 20 requests, however soon the reloads are over, and on until they are.
      while (!stop || statuses.length < 20) statuses.push((await server.get('user_id=x', as(readKey))).status);
    })();
    const base = [record('billing', 'ingest', ingestKey), record('analyst', 'read', readKey)];
    for (let i = 0; i < 5; i++) {
      const key = i === 4 ? lateKey : generateKey();
      writeKeysFile(keysFile, [...base, record(`late-${i}`, 'read', key)]);
      const response = await server.get('user_id=x', as(key));
      assert.equal(response.status, 200, `late-${i} at its very first request`);
      assert.equal(await response.text(), '[]');
    }

    // A revoked key is still known, so no request makes the registry look: the poll finds it.
    const reloads = (): number => log.lines.filter((line) => line.msg === 'keys reloaded').length;
    const before = reloads();
    writeKeysFile(keysFile, base);
    await log.waitFor(() => reloads() > before);
    const refused = await server.get('user_id=x', as(lateKey));
    assert.equal(refused.status, 401);
    assert.equal(await errorMessage(refused), 'Invalid API key');
    stop = true;
    await traffic;
    assert.deepEqual(new Set(statuses), new Set([200]), 'every request during the reloads was served');
  });
});
