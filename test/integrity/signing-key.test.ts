import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatCheckpoint } from '../../verifier/checkpoint.js';
import { parseNote, parseVerifierKey, verifyNoteSignature } from '../../verifier/signed-note.js';
import { loadSigningKey, requireSignedBy } from '../../src/integrity/signing-key.js';

const CLI = fileURLToPath(new URL('../../src/cli/signing-key.js', import.meta.url));

function signingKeyCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '' } }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

describe('the log\'s signing key', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-signing-key-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is made on first use under the origin asked for, owner-only, and read back the same', () => {
    const path = join(dir, 'made.key');
    const made = loadSigningKey(path, { origin: 'audit.example.com/prod', create: true });
    assert.equal(made.name, 'audit.example.com/prod');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(readFileSync(path, 'utf8'), /^PRIVATE\+KEY\+audit\.example\.com\/prod\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
    const again = loadSigningKey(path, { origin: undefined, create: true });
    assert.equal(again.verifierKey, made.verifierKey);
    const text = formatCheckpoint(made.name, 3, Buffer.alloc(32, 7));
    verifyNoteSignature(parseNote(`${text}\n${again.sign(text)}`), parseVerifierKey(made.verifierKey));
  });

  it('refuses another origin than the key\'s name, a missing file when it may not make one, and an edited file', () => {
    const path = join(dir, 'named.key');
    loadSigningKey(path, { origin: 'first.example/log', create: true });
    assert.throws(() => loadSigningKey(path, { origin: 'second.example/log', create: true }),
      /AUDITOR_LOG_ORIGIN is "second\.example\/log" but the signing key in .* is named "first\.example\/log": a log keeps one origin/);
    assert.throws(() => loadSigningKey(join(dir, 'absent.key'), { origin: undefined, create: false }), /no signing key at .*absent\.key: create one with npm run signing-key/);
    const text = readFileSync(path, 'utf8');
    const renamed = join(dir, 'renamed.key');
    writeFileSync(renamed, text.replace('first.example/log', 'other.example/log'));
    assert.throws(() => loadSigningKey(renamed, { origin: undefined, create: false }), /the key ID does not match the key's name and key: the file was edited/);
    const cut = join(dir, 'cut.key');
    writeFileSync(cut, text.slice(0, 40));
    assert.throws(() => loadSigningKey(cut, { origin: undefined, create: false }), /is not what this service writes there/);
  });

  it('refuses to sign on after a checkpoint signed by another key', () => {
    const mine = loadSigningKey(join(dir, 'mine.key'), { origin: 'log.example/a', create: true });
    const theirs = loadSigningKey(join(dir, 'theirs.key'), { origin: 'log.example/a', create: true });
    const text = formatCheckpoint('log.example/a', 1, Buffer.alloc(32));
    requireSignedBy(`${text}\n${mine.sign(text)}`, mine, 'mine.key');
    requireSignedBy(undefined, mine, 'mine.key');
    assert.throws(() => requireSignedBy(`${text}\n${theirs.sign(text)}`, mine, 'mine.key'), /the log's latest checkpoint was not signed by the key in mine\.key/);
  });

  it('npm run signing-key creates a key once, shows its verifier key, and says what is wrong', async () => {
    const path = join(dir, 'cli.key');
    const created = await signingKeyCli(['create', '--origin', 'example.com/audit', '--out', path]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^example\.com\/audit\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const shown = await signingKeyCli(['show', '--file', path]);
    assert.deepEqual([shown.code, shown.stdout], [0, created.stdout]);
    const before = readFileSync(path, 'utf8');
    const again = await signingKeyCli(['create', '--origin', 'example.com/audit', '--out', path]);
    assert.deepEqual([again.code, again.stderr], [2, `signing-key: ${path} exists already: it is never replaced (a log keeps its key)\n`]);
    assert.equal(readFileSync(path, 'utf8'), before);
    const spaced = await signingKeyCli(['create', '--origin', 'a b', '--out', join(dir, 'spaced.key')]);
    assert.deepEqual([spaced.code, spaced.stderr], [2, 'signing-key: a log origin has no spaces or plus signs: "a b"\n']);
    const missing = await signingKeyCli(['create', '--out', join(dir, 'x.key')]);
    assert.deepEqual([missing.code, missing.stderr], [2, 'signing-key: create needs --origin NAME: the log\'s name, such as example.com/audit\n']);
  });
});
