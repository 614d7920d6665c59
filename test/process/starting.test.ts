import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';

/** The project these tests were built from: they copy its sources, and run npm as the README says. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const KEY = 'starting-test-key-0123456789';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** However loaded the machine, a build and a start take far less; past it the test fails, never hangs. */
const DEADLINE_MS = 60_000;

type Started = { url: string; output(): string; stop(): Promise<void> };

/** The environment of each npm process: its own port and database, the same key, no keys file. */
function environment(project: string, name: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    PORT: '0',
    AUDITOR_API_KEY: KEY,
    // A folder each: a database folder holds one log (its chain.secret belongs to it).
    AUDITOR_DB: join(project, 'data', name, 'auditor.db'),
    AUDITOR_KEYS_FILE: join(project, 'no-keys.json'),
  };
}

/** Runs a shell command in `project`, as an operator would type it, and resolves once it exits 0. */
async function run(command: string, project: string): Promise<void> {
  const child = spawn('sh', ['-c', command], { cwd: project, env: environment(project, 'none'), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `${command}: ${output}`);
}

/**
 * Runs a shell command that ends in `npm start`, in a process group of its own, and resolves once
 * the service it starts logs that it listens. `stop` sends SIGTERM to the whole group and waits
 * until every process in it that holds its output has exited.
 */
async function start(command: string, project: string, name: string): Promise<Started> {
  const child = spawn('sh', ['-c', command], { cwd: project, env: environment(project, name), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const outputClosed = once(child.stdout!, 'close');
  const stop = async (): Promise<void> => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // the group has already exited
    }
    await outputClosed;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: "${command}" did not listen within ${DEADLINE_MS} ms: ${output}`)), DEADLINE_MS);
      const check = (): void => {
        const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
        if (line === undefined) return;
        clearTimeout(timer);
        const { host, port } = JSON.parse(line) as { host: string; port: number };
        resolve(`http://${host}:${port}`);
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name}: "${command}" exited with ${code} before listening: ${output}`));
      });
    });
    return { url, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A whole answer from each part of the build a running service uses: the routes, the stored document. */
async function assertServes(url: string, document: unknown): Promise<void> {
  const posted = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: 'starting', event_type: 't' }),
  });
  assert.equal(posted.status, 201, url);
  assert.equal(posted.headers.get('content-type'), 'application/json; charset=utf-8');
  const body = (await posted.json()) as { message: string; id: string };
  assert.deepEqual(Object.keys(body), ['message', 'id']);
  assert.equal(body.message, 'Event recorded');
  assert.match(body.id, UUID_V7);

  const openapi = await fetch(`${url}/openapi.json`, { headers: { 'X-API-Key': KEY } });
  assert.equal(openapi.status, 200, url);
  assert.equal(openapi.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.deepEqual(await openapi.json(), document);
}

async function recordOneEvent(url: string): Promise<void> {
  const posted = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: 'starting', event_type: 'first' }),
  });
  assert.equal(posted.status, 201);
}

describe('starting and building beside a running service, in one directory', () => {
  let project: string;
  let document: unknown;
  before(() => {
    // A copy of what a build reads, so that these builds never replace the one running this test.
    project = mkdtempSync(join(tmpdir(), 'auditor-starting-'));
    for (const entry of ['package.json', 'tsconfig.json', 'openapi.yaml', 'src', 'verifier', 'scripts', 'ui']) {
      cpSync(join(ROOT, entry), join(project, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
    document = parse(readFileSync(join(ROOT, 'openapi.yaml'), 'utf8'));
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  it('keeps a running service answering while two rebuild-and-starts race, and each of those serves too', { timeout: 3 * DEADLINE_MS }, async () => {
    await run('npm run build', project);
    const running = await start('npm start', project, 'running');
    const racers: Started[] = [];
    try {
      // The README's commands after a change to the sources, twice at once.
      const starting = ['racer-1', 'racer-2'].map((name) => start('npm run build && npm start', project, name));
      let settled = false;
      const both = Promise.allSettled(starting).finally(() => (settled = true));
      let rounds = 0;
      do {
        await assertServes(running.url, document);
        // Whatever starts at any moment finds a whole build: the service, its writer thread, the document.
        for (const file of ['src/main.js', 'src/store/sqlite/writer-thread.js', 'openapi.json']) {
          assert.ok(existsSync(join(project, 'dist', file)), `dist/${file} is missing while another build runs`);
        }
        rounds++;
      } while (!settled);
      const outcomes = await both;
      racers.push(...outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : [])));
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      assert.ok(rounds > 1, 'the running service answered while the others built and started');
      for (const racer of racers) await assertServes(racer.url, document);
      await assertServes(running.url, document);
    } finally {
      await Promise.all([running, ...racers].map((service) => service.stop()));
    }
    for (const service of [running, ...racers]) assert.match(service.output(), /"msg":"stopped","drained_requests":\d+,"cut_off":false/);
  });

  it('keeps a running service answering after the build it started from is deleted', { timeout: 2 * DEADLINE_MS }, async () => {
    await run('npm run build', project);
    const running = await start('npm start', project, 'orphaned');
    try {
      // One event first: the writer thread loads its modules after the service listens (a build
      // is kept long after it is replaced, for that). The OpenAPI document is not asked for yet.
      await recordOneEvent(running.url);
      const build = join(project, readlinkSync(join(project, 'dist')));
      rmSync(join(project, 'dist'));
      rmSync(build, { recursive: true });
      await assertServes(running.url, document);
    } finally {
      await running.stop();
    }
  });

  it('passes SIGTERM sent to npm start on to the service, which drains and stops', { timeout: 2 * DEADLINE_MS }, async () => {
    await run('npm run build', project);
    // npm itself, as a supervisor would start and signal it, in a process group of its own so
    // that whatever is left behind can be cleaned up.
    const npm = spawn('npm', ['start'], { cwd: project, env: environment(project, 'signalled'), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    npm.stdout!.on('data', (chunk) => (output += chunk));
    npm.stderr!.on('data', (chunk) => (output += chunk));
    // The service writes to the same pipe: it closes once the service, not only npm, has exited.
    const outputClosed = once(npm.stdout!, 'close');
    const deadline = new Promise<'deadline'>((resolve) => setTimeout(() => resolve('deadline'), DEADLINE_MS).unref());
    try {
      const listening = new Promise<void>((resolve) => npm.stdout!.on('data', () => output.includes('"msg":"listening"') && resolve()));
      assert.notEqual(await Promise.race([listening, deadline]), 'deadline', `npm start did not listen: ${output}`);
      process.kill(npm.pid!, 'SIGTERM'); // npm alone, not its group
      assert.notEqual(await Promise.race([outputClosed, deadline]), 'deadline', `the service outlived npm: ${output}`);
      assert.match(output, /"msg":"shutting down","signal":"SIGTERM"/);
      assert.match(output, /"msg":"stopped","drained_requests":\d+,"cut_off":false/);
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // every process of the group has exited
      }
    }
  });

  it('deletes builds replaced more than ten minutes ago, and keeps newer ones and builds in progress', { timeout: DEADLINE_MS }, async () => {
    await run('npm run build', project);
    const previous = readlinkSync(join(project, 'dist'));
    const anHourAgo = new Date(Date.now() - 60 * 60 * 1000);
    for (const [name, time] of [['.dist-old', anHourAgo], ['.dist-recent', new Date()], ['.dist-1-2.partial', new Date()], ['.dist-3-4.partial', anHourAgo]] as const) {
      mkdirSync(join(project, name, 'src'), { recursive: true });
      utimesSync(join(project, name), time, time);
    }
    const builds = (): string[] => readdirSync(project).filter((name) => name.startsWith('.dist-')).sort();
    const before = builds();
    await run('npm run build', project);
    const current = readlinkSync(join(project, 'dist'));
    assert.notEqual(current, previous);
    assert.ok(existsSync(join(project, 'dist', 'src', 'main.js')) && existsSync(join(project, 'dist', 'openapi.json')));
    assert.ok(before.includes(previous) && before.includes('.dist-recent') && before.includes('.dist-1-2.partial'));
    assert.deepEqual(builds(), [...before.filter((name) => name !== '.dist-old' && name !== '.dist-3-4.partial'), current].sort());
  });
});
