import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKey, hashKey, writeKeysFile, type KeyRecord } from '../../src/auth/keys-file.js';
import { runFailingService, startService } from '../helpers/service-process.js';
import { parseCheckpoint, type Checkpoint } from '../../verifier/checkpoint.js';
import { verifyConsistency } from '../../verifier/merkle.js';
import { parseNote, parseVerifierKey, verifyNoteSignature } from '../../verifier/signed-note.js';

const KEY = 'process-test-key-0123456789';

async function postEvent(url: string, i: number, key = KEY): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 'lifecycle', event_type: 't', data: { i } }),
    });
    return response.status === 201 ? ((await response.json()) as { id: string }).id : undefined;
  } catch {
    return undefined; // refused or cut off while the service stops: not acknowledged
  }
}

async function storedIds(url: string): Promise<string[]> {
  const response = await fetch(`${url}/events?user_id=lifecycle`, { headers: { 'X-API-Key': KEY } });
  assert.equal(response.status, 200);
  return ((await response.json()) as Array<{ id: string }>).map((e) => e.id);
}

describe('the service process', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-process-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start on a bad setting with one line naming the variable', async () => {
    const port = await runFailingService({ PORT: 'eighty', AUDITOR_DB: join(dir, 'a', 'auditor.db') });
    assert.equal(port.code, 1);
    assert.equal(port.stderr, 'auditor: PORT: expected a whole number from 0 to 65535, got "eighty"\n');

    writeFileSync(join(dir, 'a-file'), '');
    const db = await runFailingService({ AUDITOR_DB: join(dir, 'a-file', 'events.db'), AUDITOR_API_KEY: KEY });
    assert.equal(db.code, 1);
    assert.match(db.stderr, /^auditor: AUDITOR_DB: cannot open the database at ".*a-file\/events\.db": .+\n$/);
  });

  it('generates a strong key when none is set, prints it once to stderr with a curl example on the bound port, and never logs it', async () => {
    const service = await startService({ AUDITOR_DB: join(dir, 'generated', 'auditor.db'), PORT: '0' });
    try {
      const [, key] = await service.waitFor('stderr', /^ {2}(adt_[A-Za-z0-9_-]{43})\nTry: .*\n/m);
      assert.ok(key, service.stderr());
      // PORT=0 picks a free port: the example names the one bound, never :0.
      assert.ok(service.stderr().endsWith(`Try: curl -H 'X-API-Key: ${key}' '${service.url}/events?user_id=alice'\n`), service.stderr());
      const response = await fetch(`${service.url}/events?user_id=x`, { headers: { 'X-API-Key': key } });
      assert.equal(response.status, 200);
      const wrong = await fetch(`${service.url}/events?user_id=x`, { headers: { 'X-API-Key': KEY } });
      assert.equal(wrong.status, 401);
      assert.ok(!service.stdout().includes(key));
    } finally {
      service.child.kill('SIGTERM');
      assert.equal(await service.exited, 0);
    }
  });

  it('says in its start-up line when no key is admin: what is out of reach and how to create one', async () => {
    const keysFile = join(dir, 'no-admin-keys.json');
    const record = (name: string, scope: KeyRecord['scope']): KeyRecord => ({ name, scope, sha256: hashKey(generateKey()), createdAt: new Date().toISOString() });
    writeKeysFile(keysFile, [record('billing', 'ingest'), record('grafana', 'read')]);
    const listening = async (env: Record<string, string>): Promise<Record<string, unknown>> => {
      const service = await startService({ AUDITOR_DB: join(dir, 'no-admin.db'), AUDITOR_KEYS_FILE: keysFile, ...env });
      service.child.kill('SIGTERM');
      assert.equal(await service.exited, 0);
      assert.equal(service.stderr(), '', 'no key is generated while the keys file has keys');
      return JSON.parse(service.stdout().split('\n').find((line) => line.includes('"msg":"listening"'))!) as Record<string, unknown>;
    };
    const create = 'create one with npm run -s keys -- create --name ops --scope admin (no restart needed)';
    assert.equal((await listening({})).warning, `no admin key: GET /integrity and GET /metrics answer 403 to every key; ${create}`);
    assert.equal((await listening({ AUDITOR_METRICS_PORT: '0' })).warning, `no admin key: GET /integrity answers 403 to every key; ${create}`);
    assert.equal((await listening({ AUDITOR_API_KEY: KEY })).warning, undefined);
    writeKeysFile(keysFile, [record('billing', 'ingest'), record('ops', 'admin')]);
    assert.equal((await listening({})).warning, undefined);
  });

  it('reads settings from a .env file in its working directory', async () => {
    const cwd = join(dir, 'with-env');
    mkdirSync(cwd);
    writeFileSync(join(cwd, '.env'), `AUDITOR_API_KEY=${KEY}\nAUDITOR_DB=from-env/events.db\n`);
    const service = await startService({}, cwd);
    try {
      assert.ok(await postEvent(service.url, 0));
      assert.match(service.stdout(), /"database":"from-env\/events\.db"/);
      assert.equal(service.stderr(), '');
    } finally {
      service.child.kill('SIGTERM');
      assert.equal(await service.exited, 0);
    }
  });

  it('on SIGTERM finishes requests in flight, keeps every 201, and exits 0', async () => {
    const env = { AUDITOR_API_KEY: KEY, AUDITOR_DB: join(dir, 'drain', 'auditor.db') };
    const service = await startService(env);
    let answered = 0;
    const posts = Array.from({ length: 300 }, (_, i) =>
      postEvent(service.url, i).then((id) => {
        if (++answered === 50) service.child.kill('SIGTERM');
        return id;
      }),
    );
    const acknowledged = (await Promise.all(posts)).filter((id): id is string => id !== undefined);
    assert.equal(await service.exited, 0);
    assert.match(service.stdout(), /"msg":"shutting down","signal":"SIGTERM","requests_in_flight":\d+/);
    assert.match(service.stdout(), /"msg":"stopped","drained_requests":\d+,"cut_off":false/);
    assert.ok(acknowledged.length >= 50, `${acknowledged.length} acknowledged`);

    const restarted = await startService(env);
    try {
      const stored = new Set(await storedIds(restarted.url));
      for (const id of acknowledged) assert.ok(stored.has(id), `acknowledged ${id} was lost`);
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
  });

  // kill -9 ends the process, not the machine: what SQLite has written is in the kernel's page cache
  // and survives, synced or not. So this cannot tell synchronous = FULL from OFF (a power cut
  // can); it catches a 201 sent before its COMMIT, and events stored that nobody sent.
  it('loses no acknowledged event to a kill -9 that lands while writes are in flight, stores none that was not sent, and signs on consistently with the checkpoints it served', async (t) => {
    const env = { AUDITOR_API_KEY: KEY, AUDITOR_DB: join(dir, 'crash', 'auditor.db'), AUDITOR_CHECKPOINT_INTERVAL: '20ms' };
    const service = await startService(env);
    const key = parseVerifierKey(await (await fetch(`${service.url}/checkpoint/key`, { headers: { 'X-API-Key': KEY } })).text());
    const CLIENTS = 16;
    const KILL_AT = 300; // acknowledgements; every client is busy by then
    const acknowledged = new Map<number, string>(); // i → id, for every 201
    let sent = 0;
    let outstanding = 0;
    let outstandingAtKill = 0;
    let unanswered = 0;
    let killed = false;
    const client = async (): Promise<void> => {
      // Bounded, whatever happens: a client stops at the kill or after 200 requests.
      for (let n = 0; n < 200 && !killed; n++) {
        const i = sent++;
        outstanding++;
        const id = await postEvent(service.url, i);
        outstanding--;
        if (id === undefined) {
          unanswered++;
          continue;
        }
        acknowledged.set(i, id);
        if (acknowledged.size === KILL_AT && !killed) {
          killed = true;
          outstandingAtKill = outstanding; // sent, and not answered yet as far as this process knows
          service.child.kill('SIGKILL');
        }
      }
    };
    // The last checkpoint served before the kill, as a witness polling it would hold it.
    let clientsDone = false;
    let lastServed: Checkpoint | undefined;
    const watch = (async () => {
      while (!killed && !clientsDone) {
        const response = await fetch(`${service.url}/checkpoint`, { headers: { 'X-API-Key': KEY } }).catch(() => undefined);
        if (response?.status !== 200) continue;
        const note = parseNote(await response.text());
        verifyNoteSignature(note, key);
        lastServed = parseCheckpoint(note.text);
      }
    })();
    await Promise.all(Array.from({ length: CLIENTS }, client)).finally(() => (clientsDone = true));
    await watch;
    assert.equal(await service.exited, 'SIGKILL');
    assert.ok(lastServed !== undefined && lastServed.size > 0, 'checkpoints were served before the kill');
    assert.ok(outstandingAtKill > 0, 'the kill landed while requests were in flight');

    const restarted = await startService(env);
    try {
      const response = await fetch(`${restarted.url}/events?user_id=lifecycle`, { headers: { 'X-API-Key': KEY } });
      assert.equal(response.status, 200);
      const events = (await response.json()) as Array<{ id: string; data: { i: number } }>;
      const stored = new Map(events.map((event) => [event.data.i, event.id]));
      assert.equal(stored.size, events.length, 'an event was stored twice');
      for (const [i, id] of acknowledged) assert.equal(stored.get(i), id, `the acknowledged event ${i} (${id}) was lost`);
      // Beyond those: only events that were sent and not answered (committed as the process died), each once.
      const extra = [...stored.keys()].filter((i) => !acknowledged.has(i));
      assert.ok(extra.every((i) => i < sent), `stored events no one sent: ${extra.filter((i) => i >= sent).join(', ')}`);
      assert.ok(extra.length <= unanswered, `${extra.length} unacknowledged events stored, of ${unanswered} unanswered requests`);
      t.diagnostic(`${outstandingAtKill} requests in flight at the kill; ${acknowledged.size} acknowledged, ${unanswered} never answered, ` +
        `${extra.length} of those committed all the same; the last checkpoint served was of ${lastServed.size} events`);

      // The tree goes on from where it was: the next checkpoint proves the last one served a prefix of it.
      // (A proof of the newest event has one signed that covers it, if the timer has not yet.)
      const newest = events.reduce((a, b) => (a.id > b.id ? a : b));
      const { tree_size: size } = (await (await fetch(`${restarted.url}/events/${newest.id}/proof`, { headers: { 'X-API-Key': KEY } })).json()) as { tree_size: number };
      const note = parseNote(await (await fetch(`${restarted.url}/checkpoint?size=${size}`, { headers: { 'X-API-Key': KEY } })).text());
      verifyNoteSignature(note, key);
      const next = parseCheckpoint(note.text);
      assert.equal(next.size, events.length, 'the next checkpoint covers every event stored');
      const proof = (await (await fetch(`${restarted.url}/proofs/consistency?from=${lastServed.size}&to=${next.size}`, { headers: { 'X-API-Key': KEY } })).json()) as { consistency_path: string[] };
      verifyConsistency(lastServed.size, next.size, lastServed.rootHash, next.rootHash, proof.consistency_path.map((hash) => Buffer.from(hash, 'base64')));
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
  });
});
