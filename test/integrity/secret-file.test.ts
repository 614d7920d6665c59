import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chainSecretPath, findChainSecret, resolveChainSecret, restoreChainSecret } from '../../src/integrity/chain-secret.js';
import { createSecretFile, readSecretFile, writeWholeFile } from '../../src/integrity/secret-file.js';

const FORMAT = { pattern: /^[a-z]+\n$/, description: 'lower-case letters and a line break' };

describe('the files the service writes whole', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-secret-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a secret file owner-only, in a folder it makes owner-only, and leaves no temporary file beside it', () => {
    const folder = join(dir, 'made', 'here');
    const path = join(folder, 'secret');
    assert.equal(createSecretFile(path, 'abc\n'), true);
    assert.equal(readFileSync(path, 'utf8'), 'abc\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(folder).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(folder), ['secret']);
  });

  it('never replaces a secret file already there: answers false and leaves it as it was', () => {
    const path = join(dir, 'taken');
    writeFileSync(path, 'first\n');
    assert.equal(createSecretFile(path, 'second\n'), false);
    assert.equal(readFileSync(path, 'utf8'), 'first\n');
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('taken')), ['taken']);
  });

  it('replaces a file when asked to, whole and owner-only', () => {
    const folder = join(dir, 'replaced');
    mkdirSync(folder);
    const path = join(folder, 'marker');
    writeFileSync(path, 'old\n', { mode: 0o644 });
    assert.equal(writeWholeFile(path, 'new\n', { replace: true }), true);
    assert.equal(readFileSync(path, 'utf8'), 'new\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(folder), ['marker']);
  });

  it('reads a secret file back; undefined when there is none; the error itself when the file cannot be read', () => {
    const path = join(dir, 'read');
    assert.equal(readSecretFile(path, FORMAT), undefined);
    writeFileSync(path, 'abc\n');
    assert.equal(readSecretFile(path, FORMAT), 'abc\n');
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    assert.throws(() => readSecretFile(folder, FORMAT), { code: 'EISDIR' });
  });
});

describe('the chain secret beside the database', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-chain-secret-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is AUDITOR_CHAIN_SECRET\'s text when configured, and then no file is made', () => {
    const db = join(dir, 'configured', 'auditor.db');
    assert.deepEqual(resolveChainSecret('configured sécret', db), Buffer.from('configured sécret', 'utf8'));
    assert.deepEqual(findChainSecret('configured sécret', db), Buffer.from('configured sécret', 'utf8'));
    assert.throws(() => statSync(join(dir, 'configured')), { code: 'ENOENT' });
  });

  it('is never made up for verifying: none without the file, and no file is created', () => {
    const db = join(dir, 'auditor.db');
    assert.equal(findChainSecret(undefined, db), undefined);
    assert.throws(() => statSync(chainSecretPath(db)), { code: 'ENOENT' });
  });

  it('is written back as the service read it when its file is gone, so that the next start keys the chain the same', () => {
    const db = join(dir, 'restored', 'auditor.db');
    const secret = resolveChainSecret(undefined, db);
    rmSync(join(dir, 'restored'), { recursive: true });
    restoreChainSecret(db, secret);
    assert.equal(statSync(chainSecretPath(db)).mode & 0o777, 0o600);
    assert.deepEqual(resolveChainSecret(undefined, db), secret);
    assert.deepEqual(findChainSecret(undefined, db), secret);
  });
});
