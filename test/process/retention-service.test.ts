import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startService } from '../helpers/service-process.js';

const ERASE = fileURLToPath(new URL('../../src/cli/erase.js', import.meta.url));
const ADMIN_KEY = 'retention-e2e-admin-key-0123456789';

type Run = { code: number; stdout: string; stderr: string };

function erase(args: readonly string[], env: Record<string, string> = { AUDITOR_ERASE_API_KEY: ADMIN_KEY }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ERASE, ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

describe('retention and erasure in the running service', () => {
  it('runs AUDITOR_RETENTION every AUDITOR_RETENTION_INTERVAL, logs and counts it; npm run erase erases through the API', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'auditor-retention-e2e-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const service = await startService({
      AUDITOR_API_KEY: ADMIN_KEY, AUDITOR_DB: join(dir, 'auditor.db'), AUDITOR_RETENTION: 'scratch=1s', AUDITOR_RETENTION_INTERVAL: '1s',
    });
    t.after(async () => {
      service.child.kill('SIGTERM');
      await service.exited;
    });
    const headers = { 'X-API-Key': ADMIN_KEY, 'Content-Type': 'application/json' };
    const post = async (event: unknown): Promise<string> => {
      const response = await fetch(`${service.url}/events`, { method: 'POST', headers, body: JSON.stringify(event) });
      assert.equal(response.status, 201);
      return ((await response.json()) as { id: string }).id;
    };
    const get = async (id: string) => (await (await fetch(`${service.url}/events/${id}`, { headers })).json()) as { data: unknown; removed?: { reason: string } };

    const scratch = await post({ user_id: 'u1', event_type: 'scratch', data: { note: 'temporary' } });
    const kept = await post({ user_id: 'u1', event_type: 'login', data: { ip: '192.0.2.1' } });
    const line = await service.waitFor('stdout', /\{[^\n]*"msg":"retention run"[^\n]*\}/);
    assert.match(line[0], /"removed":1,"held":0,"record":"[0-9a-f-]{36}","policy":"scratch=1s"/);
    assert.equal((await get(scratch)).data, null);
    assert.equal((await get(scratch)).removed?.reason, 'retention');
    assert.deepEqual((await get(kept)).data, { ip: '192.0.2.1' });
    const metrics = await (await fetch(`${service.url}/metrics`, { headers })).text();
    assert.match(metrics, /^auditor_payloads_removed_total\{reason="retention"\} 1$/m);
    assert.match(metrics, /^auditor_retention_runs_total\{outcome="completed"\} [1-9]\d*$/m);

    const url = service.url;
    const erased = await erase(['--user', 'u1', '--reason', 'request 77', '--url', url]);
    assert.deepEqual(erased, { code: 0, stdout: `erased 2 events; recorded as ${erased.stdout.trim().split(' ').pop()}\n`, stderr: '' });
    assert.equal((await get(kept)).data, null);
    assert.deepEqual(await erase(['--user', 'u1', '--url', url]), { code: 0, stdout: 'nothing to erase: no event of this subject holds a payload\n', stderr: '' });
    const wrongKey = await erase(['--user', 'u1', '--url', url], { AUDITOR_ERASE_API_KEY: 'not-the-key-0123456789abcdef' });
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /^erase: refused \(401\): /);
    assert.match(await (await fetch(`${service.url}/metrics`, { headers })).text(), /^auditor_payloads_removed_total\{reason="erasure"\} 2$/m);
  });

  it('npm run erase says what is wrong with its command line, and when it cannot reach the service', async () => {
    assert.equal((await erase(['--help'])).code, 0);
    const both = await erase(['--user', 'a', '--data', 'b=c']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^erase: name the subject by exactly one of --user USER_ID or --data FIELD=VALUE\n$/);
    assert.match((await erase(['--data', 'novalue'])).stderr, /^erase: --data: expected FIELD=VALUE/);
    assert.match((await erase(['--user', 'a'], {})).stderr, /^erase: set AUDITOR_ERASE_API_KEY/);
    const down = await erase(['--user', 'a', '--url', 'http://127.0.0.1:1']);
    assert.equal(down.code, 2);
    assert.match(down.stderr, /^erase: could not reach the service at http:\/\/127\.0\.0\.1:1: /);
  });
});
