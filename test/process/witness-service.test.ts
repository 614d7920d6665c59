import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseCheckpoint } from '../../verifier/checkpoint.js';
import { parseNote, parseVerifierKey, verifyCosignature } from '../../verifier/signed-note.js';
import { startService } from '../helpers/service-process.js';

const WITNESS = fileURLToPath(new URL('../../src/cli/witness.js', import.meta.url));
const ADMIN_KEY = 'witness-e2e-admin-key-0123456789';

type Run = { code: number; stdout: string; stderr: string };

function witness(args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [WITNESS, ...args], { cwd, env: { PATH: process.env.PATH ?? '', AUDITOR_WITNESS_API_KEY: ADMIN_KEY }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

describe('the witness against the service', () => {
  it('records the service\'s checkpoint, follows its growth with consistency proofs, and its cosignatures are served with the checkpoint', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'auditor-witness-e2e-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const printed = await witness(['--print-key', '--signing-key', 'witness.key', '--name', 'witness.example/e2e'], dir);
    assert.equal(printed.code, 0, printed.stderr);
    const witnessKey = parseVerifierKey(printed.stdout);

    const service = await startService({ AUDITOR_API_KEY: ADMIN_KEY, AUDITOR_DB: join(dir, 'log', 'auditor.db'), AUDITOR_WITNESS_KEYS: printed.stdout.trim() });
    t.after(async () => {
      service.child.kill('SIGTERM');
      await service.exited;
    });
    const headers = { 'X-API-Key': ADMIN_KEY };
    const logKey = (await (await fetch(`${service.url}/checkpoint/key`, { headers })).text()).trim();
    /** Posts `count` events, then asks for the last one's proof, which has a checkpoint covering it signed at once. */
    const grow = async (count: number): Promise<void> => {
      let id = '';
      for (let i = 0; i < count; i++) {
        const response = await fetch(`${service.url}/events`, {
          method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' },
          body: JSON.stringify({ user_id: `u${i}`, event_type: 'witness.test', data: { i } }),
        });
        assert.equal(response.status, 201);
        id = ((await response.json()) as { id: string }).id;
      }
      assert.equal((await fetch(`${service.url}/events/${id}/proof`, { headers })).status, 200);
    };
    const args = ['--url', service.url, '--key', logKey, '--state', 'witness.json', '--signing-key', 'witness.key', '--once'];

    await grow(3);
    const first = await witness(args, dir);
    assert.deepEqual({ code: first.code, stderr: first.stderr }, { code: 0, stderr: '' });
    assert.match(first.stdout, /^size 3 root [A-Za-z0-9+/]{43}=: first checkpoint seen, trusted on first use and recorded in witness\.json; cosigned, accepted by the log \(witness\.example\/e2e\)\n$/);

    await grow(6);
    const second = await witness(args, dir);
    assert.deepEqual({ code: second.code, stderr: second.stderr }, { code: 0, stderr: '' });
    assert.match(second.stdout, /^size 9 root [A-Za-z0-9+/]{43}=: consistent with size 3, recorded in witness\.json; cosigned, accepted by the log \(witness\.example\/e2e\)\n$/);

    // The service now serves its checkpoint with the witness's cosignature, which verifies.
    const served = parseNote(await (await fetch(`${service.url}/checkpoint`, { headers })).text());
    assert.equal(parseCheckpoint(served.text).size, 9);
    const mine = served.signatures.filter((signature) => signature.name === witnessKey.name);
    assert.equal(mine.length, 1);
    const cosignedAt = verifyCosignature(served.text, mine[0]!, witnessKey);
    assert.ok(Math.abs(Number(cosignedAt) - Date.now() / 1000) < 60, `cosigned at ${cosignedAt}`);
    const state = JSON.parse(readFileSync(join(dir, 'witness.json'), 'utf8')) as { size: number; note: string };
    assert.deepEqual([state.size, parseNote(state.note).text], [9, served.text]);

    const third = await witness(args, dir);
    assert.deepEqual({ code: third.code, stderr: third.stderr }, { code: 0, stderr: '' });
    assert.match(third.stdout, /^size 9 root [A-Za-z0-9+/]{43}=: unchanged; already cosigned\n$/);
  });
});
