import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chainSecretPath, findChainSecret, resolveChainSecret } from '../../src/integrity/chain-secret.js';
import { openSqliteEventStore } from '../../src/store/sqlite/sqlite-event-store.js';
import { skipWithoutRoot } from '../helpers/root-only.js';
import { mountSmallFilesystem } from '../helpers/small-filesystem.js';

const VERIFY = fileURLToPath(new URL('../../src/cli/verify.js', import.meta.url));

const WRITTEN = 'q3Hk2Vd8_Zp0mN5rT7wX1yB4cE6gJ9aL-sU2oI8fR0t\n'; // the shape resolveChainSecret writes

describe('the chain secret file', () => {
  it('refuses a chain.secret that is not exactly what the service writes, and names what it expected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditor-secret-'));
    try {
      const db = join(dir, 'auditor.db');
      const variants: Array<[string, number]> = [
        ['', 0], // a first start on a full disk left it empty
        [WRITTEN.slice(0, 20), 20], // or cut short
        [WRITTEN.trimEnd(), 43],
        [`${WRITTEN}\n`, 45],
        [` ${WRITTEN}`, 45],
        [WRITTEN.replace('q', '+'), 44],
      ];
      for (const [contents, bytes] of variants) {
        writeFileSync(chainSecretPath(db), contents);
        const expected = {
          message: `${chainSecretPath(db)} is not what this service writes there (expected 43 base64url characters and a line break; ` +
            `it holds ${bytes} bytes): restore it from a backup; only if nothing was ever written with it, delete it to have a new one made`,
        };
        assert.throws(() => resolveChainSecret(undefined, db), expected, JSON.stringify(contents));
        assert.throws(() => findChainSecret(undefined, db), expected, JSON.stringify(contents));
        assert.equal(readFileSync(chainSecretPath(db), 'utf8'), contents, 'left as it was');
      }
      writeFileSync(chainSecretPath(db), WRITTEN);
      assert.deepEqual(resolveChainSecret(undefined, db), Buffer.from(WRITTEN.trimEnd()));
      assert.deepEqual(findChainSecret(undefined, db), Buffer.from(WRITTEN.trimEnd()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('generates a new secret whole or not at all: on a full disk no chain.secret is left behind', (t) => {
    const fs = mountSmallFilesystem(64);
    if (typeof fs === 'string') return skipWithoutRoot(t, fs);
    t.after(() => fs.unmount());
    const db = join(fs.dir, 'auditor.db');
    fs.fill();
    assert.throws(() => resolveChainSecret(undefined, db), { code: 'ENOSPC' });
    assert.deepEqual(readdirSync(fs.dir), ['filler'], 'neither a short chain.secret nor a temporary file');

    fs.free();
    const secret = resolveChainSecret(undefined, db);
    assert.match(secret.toString('utf8'), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(readFileSync(chainSecretPath(db), 'utf8'), `${secret.toString('utf8')}\n`);
    assert.equal(statSync(chainSecretPath(db)).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(fs.dir), ['chain.secret']);
    assert.deepEqual(resolveChainSecret(undefined, db), secret, 'read back, not generated again');
  });

  it('makes npm run verify exit 2 (could not check) with one line on such a file, not 1 (tampered) with a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditor-secret-'));
    try {
      const db = join(dir, 'auditor.db');
      await openSqliteEventStore(db).close();
      writeFileSync(chainSecretPath(db), '');
      const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(process.execPath, [VERIFY], { cwd: dir, env: { PATH: process.env.PATH ?? '', AUDITOR_DB: db } },
          (error, _stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stderr }));
      });
      assert.deepEqual(result, {
        code: 2,
        stderr: `verify: ${chainSecretPath(db)} is not what this service writes there (expected 43 base64url characters and a line break; ` +
          'it holds 0 bytes): restore it from a backup; only if nothing was ever written with it, delete it to have a new one made\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
