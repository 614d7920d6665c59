import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startService, type ServiceProcess } from '../helpers/service-process.js';
import { parseCheckpoint, type Checkpoint } from '../../verifier/checkpoint.js';
import { verifyConsistency } from '../../verifier/merkle.js';
import { formatVerifierKey, parseNote, parseVerifierKey, verifyNoteSignature } from '../../verifier/signed-note.js';
import { createTestDatabase, TEST_CHAIN_SECRET, testSigningKeyFile, type TestDatabase } from '../helpers/test-database.js';

const KEY = 'instances-test-key-0123456789';
const VERIFY_CLI = fileURLToPath(new URL('../../src/cli/verify.js', import.meta.url));
/** NODE_OPTIONS for a service whose clock runs an hour behind the other's. */
const CLOCK_BEHIND = `--import=${new URL('../helpers/clock-behind.js', import.meta.url).href}`;

type Answer = { status: number; id?: string };

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  try {
    const response = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { id?: string };
    return { status: response.status, ...(answer.id === undefined ? {} : { id: answer.id }) };
  } catch {
    return { status: 0 }; // cut off (the instance was killed): not acknowledged
  }
}

async function allEvents(url: string, userId: string): Promise<Array<{ id: string; timestamp: string; data: unknown }>> {
  const response = await fetch(`${url}/events?user_id=${userId}`, { headers: { 'X-API-Key': KEY } });
  assert.equal(response.status, 200);
  return (await response.json()) as Array<{ id: string; timestamp: string; data: unknown }>;
}

function verify(database: TestDatabase, args: string[] = []): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFY_CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', AUDITOR_DB: database.location.kind === 'postgres' ? database.location.url : '', AUDITOR_CHAIN_SECRET: TEST_CHAIN_SECRET, AUDITOR_SIGNING_KEY_FILE: testSigningKeyFile() },
    }, (error, stdout) => resolve({ code: error === null ? 0 : Number(error.code), stdout }));
  });
}

describe('several instances on one PostgreSQL database, one with its clock an hour behind', () => {
  let database: TestDatabase;
  let first: ServiceProcess;
  let second: ServiceProcess;
  const env = (): Record<string, string> => ({
    AUDITOR_API_KEY: KEY,
    AUDITOR_DB: database.location.kind === 'postgres' ? database.location.url : '',
    AUDITOR_CHAIN_SECRET: TEST_CHAIN_SECRET, AUDITOR_SIGNING_KEY_FILE: testSigningKeyFile(),
  });

  before(async () => {
    database = await createTestDatabase('postgres');
    // Started together: both run the schema migration at once, and take turns. The first one's
    // clock is an hour behind: its events must still be stamped, and get ids, after the newest.
    [first, second] = await Promise.all([startService({ ...env(), NODE_OPTIONS: CLOCK_BEHIND }), startService(env())]);
    const listeningAt = (service: ServiceProcess): number =>
      Date.parse((JSON.parse(service.stdout().split('\n').find((l) => l.includes('"msg":"listening"'))!) as { time: string }).time);
    assert.ok(listeningAt(second) - listeningAt(first) > 59 * 60 * 1000, 'the first instance\'s clock is an hour behind');
  });
  after(async () => {
    for (const service of [first, second]) {
      if (service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGTERM');
        await service.exited;
      }
    }
    await database.drop();
  });

  it('names its database in the start-up line without the password', () => {
    const password = new URL(env().AUDITOR_DB!).password;
    const line = first.stdout().split('\n').find((l) => l.includes('"msg":"listening"'))!;
    assert.match(line, /"database":"postgres(ql)?:\/\//);
    if (password !== '') assert.ok(!line.includes(`:${password}@`) && line.includes(':***@'), line);
  });

  it('stores every event acknowledged by either once, and both give the same ordered answer', async () => {
    const answers = await Promise.all(
      Array.from({ length: 400 }, (_, i) => post(i % 2 === 0 ? first.url : second.url, { user_id: 'shared', event_type: 't', data: { i } })),
    );
    assert.deepEqual(answers.filter((answer) => answer.status !== 201), []);

    const [fromFirst, fromSecond] = await Promise.all([allEvents(first.url, 'shared'), allEvents(second.url, 'shared')]);
    assert.deepEqual(fromFirst, fromSecond);
    assert.equal(fromFirst.length, 400);
    assert.deepEqual(new Set(fromFirst.map((event) => event.id)), new Set(answers.map((answer) => answer.id)));
    assert.equal(new Set(fromFirst.map((event) => (event.data as { i: number }).i)).size, 400, 'each event once');
    // The answer is in (timestamp, seq) order. A timestamp never runs behind the newest event's,
    // whatever the instance's clock says, so that is also the order of the commits (seq); and ids
    // follow the head whichever instance wrote it, so they sort in that order too.
    const ids = fromFirst.map((event) => event.id);
    assert.deepEqual(ids, [...ids].sort(), 'ids in the order of the answer');
    const bySeq = (await database.chainRows()).filter((row) => row.userId === 'shared').map((row) => row.id);
    assert.deepEqual(ids, bySeq, 'the answer in commit (seq) order');
  });

  it('stores one event for racing retries through both instances with one Idempotency-Key', async () => {
    const event = { user_id: 'retried', event_type: 't', data: { attempt: 'same' } };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(i % 2 === 0 ? first.url : second.url, event, { 'Idempotency-Key': 'one-retry' })),
    );
    assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set([201]));
    assert.equal(new Set(answers.map((answer) => answer.id)).size, 1);
    assert.equal(await database.countEvents('retried'), 1);
  });

  it('keeps one chain that npm run verify finds intact, and the same checkpoint from both, which holds', async () => {
    const result = await verify(database);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /The chain is intact/);
    const checkpoint = async (url: string) => (await fetch(`${url}/integrity`, { headers: { 'X-API-Key': KEY } })).text();
    const [a, b] = await Promise.all([checkpoint(first.url), checkpoint(second.url)]);
    const [fromFirst, fromSecond] = [a, b].map((text) => JSON.parse(text) as { head_hash: string; event_count: number });
    assert.equal(fromFirst!.head_hash, fromSecond!.head_hash);
    assert.equal(fromFirst!.event_count, await database.countEvents());

    const dir = mkdtempSync(join(tmpdir(), 'auditor-checkpoint-'));
    try {
      writeFileSync(join(dir, 'checkpoint.json'), a);
      const checked = await verify(database, ['--checkpoint', join(dir, 'checkpoint.json')]);
      assert.equal(checked.code, 0, checked.stdout);
      assert.match(checked.stdout, /Checkpoint holds: all \d+ events it covers are present and unchanged/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('grows one Merkle tree: each instance proves the other\'s checkpoints a prefix of its own, signed by the one key', async () => {
    const read = (url: string, path: string) => fetch(`${url}${path}`, { headers: { 'X-API-Key': KEY } });
    const key = parseVerifierKey(await (await read(first.url, '/checkpoint/key')).text());
    assert.equal(await (await read(second.url, '/checkpoint/key')).text(), `${formatVerifierKey(key.name, key.algorithm, key.publicKey)}\n`);
    const signed = async (url: string, size?: number): Promise<Checkpoint> => {
      const note = parseNote(await (await read(url, size === undefined ? '/checkpoint' : `/checkpoint?size=${size}`)).text());
      verifyNoteSignature(note, key);
      return parseCheckpoint(note.text);
    };
    const seen: Checkpoint[] = [];
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i % 2 === 0 ? first.url : second.url, { user_id: 'tree', event_type: 't', data: { round, i } })));
      assert.deepEqual(answers.filter((answer) => answer.status !== 201), []);
      // The newest event's proof has each instance sign a checkpoint covering it, if its timer has not.
      for (const url of [first.url, second.url]) {
        const { tree_size: size } = (await (await read(url, `/events/${answers[answers.length - 1]!.id}/proof`)).json()) as { tree_size: number };
        seen.push(await signed(url, size));
      }
    }
    seen.sort((a, b) => a.size - b.size);
    const latest = seen[seen.length - 1]!;
    for (const checkpoint of seen) {
      for (const url of [first.url, second.url]) {
        // The same size signed by either is the same checkpoint: one tree.
        assert.deepEqual(await signed(url, checkpoint.size), checkpoint);
        const { consistency_path: path } = (await (await read(url, `/proofs/consistency?from=${checkpoint.size}&to=${latest.size}`)).json()) as { consistency_path: string[] };
        verifyConsistency(checkpoint.size, latest.size, checkpoint.rootHash, latest.rootHash, path.map((hash) => Buffer.from(hash, 'base64')));
      }
    }
  });

  it('loses no acknowledged event when one instance is killed (-9) while writes to it are in flight, and stores none twice', async (t) => {
    const CLIENTS = 8; // per instance
    const KILL_AT = 100; // 201s from the first instance; every one of its clients is busy by then
    const acknowledged = new Map<number, string>(); // i → id, for every 201 from either instance
    const refusedBySecond: Answer[] = [];
    let sent = 0;
    const cutOff = new Set<number>(); // i of every request to the first instance that got no 201
    let outstanding = 0; // requests to the first instance, sent and not answered
    let outstandingAtKill = 0;
    let fromFirst = 0;
    let killed = false;
    const client = (service: ServiceProcess) => async (): Promise<void> => {
      // Bounded, whatever happens: a client stops at the kill or after 200 requests.
      for (let n = 0; n < 200 && !killed; n++) {
        const i = sent++;
        if (service === first) outstanding++;
        const answer = await post(service.url, { user_id: 'crash', event_type: 't', data: { i } });
        if (service === first) outstanding--;
        if (answer.status === 201) acknowledged.set(i, answer.id!);
        else if (service === first) cutOff.add(i);
        else refusedBySecond.push(answer);
        if (service === first && answer.status === 201 && ++fromFirst === KILL_AT && !killed) {
          killed = true;
          outstandingAtKill = outstanding;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([...Array.from({ length: CLIENTS }, client(first)), ...Array.from({ length: CLIENTS }, client(second))]);
    assert.equal(await first.exited, 'SIGKILL');
    assert.ok(outstandingAtKill > 0, 'the kill landed while requests to the first instance were in flight');
    assert.deepEqual(refusedBySecond, [], 'the surviving instance answered every request 201');

    const events = (await allEvents(second.url, 'crash')) as Array<{ id: string; data: { i: number } }>;
    const stored = new Map(events.map((event) => [event.data.i, event.id]));
    assert.equal(stored.size, events.length, 'an event was stored twice');
    for (const [i, id] of acknowledged) assert.equal(stored.get(i), id, `the acknowledged event ${i} (${id}) was lost`);
    // Beyond those: only events sent to the first instance and cut off (committed as it died).
    const extra = [...stored.keys()].filter((i) => !acknowledged.has(i));
    assert.deepEqual(extra.filter((i) => !cutOff.has(i)), [], 'stored events that were neither acknowledged nor cut off');
    t.diagnostic(`${outstandingAtKill} requests to the first instance in flight at the kill; ${acknowledged.size} acknowledged, ` +
      `${cutOff.size} cut off, ${extra.length} of those committed all the same`);
    const result = await verify(database);
    assert.equal(result.code, 0, result.stdout);
  });
});
