/**
 * npm run verify-event and verify-consistency as a third party runs them: the built entry points,
 * spawned over files written here in the service's wire formats, no service and no database.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { formatCheckpoint } from '../../verifier/checkpoint.js';
import { COSIGNATURE_V1, formatVerifierKey, signNote } from '../../verifier/signed-note.js';
import { createLogKey, SignedLog } from './signed-log.js';

const VERIFY_EVENT = fileURLToPath(new URL('../../verifier/verify-event.js', import.meta.url));
const VERIFY_CONSISTENCY = fileURLToPath(new URL('../../verifier/verify-consistency.js', import.meta.url));

type Run = { code: number; stdout: string; stderr: string };

let dir: string;

function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, timeout: 10_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

/** Writes `text` to a file in the test's folder and returns its name there. */
function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

/** The same JSON with white space between every two tokens outside strings. */
function prettyPrinted(json: string): string {
  return json.replace(/("(?:[^"\\]|\\.)*")|([{[,:])|([}\]])/g, (_, string: string | undefined, open: string | undefined, close: string | undefined) =>
    string ?? (open !== undefined ? `${open}\n  ` : `\n${close!}`));
}

const key = createLogKey('auditor.example');
const log = new SignedLog(key);
const keyText = `${key.verifierKey}\n`;
const keyLabel = key.verifierKey.split('+').slice(0, 2).join('+');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'auditor-verifier-'));
  for (let i = 0; i < 7; i++) log.append({ dataText: `{"amount":1.50,"note":"n ${i}","big":12345678901234567890}` });
  file('key.txt', keyText);
  file('e2.json', log.eventJson(2));
  file('e3.json', log.eventJson(3));
  file('p2-6.json', JSON.stringify(await log.inclusionProof(2, 6)));
  file('p2-7.json', JSON.stringify(await log.inclusionProof(2, 7)));
  file('c6.txt', await log.checkpoint(6));
  file('c7.txt', await log.checkpoint(7));
  file('c4.txt', await log.checkpoint(4));
  file('cp4-7.json', JSON.stringify(await log.consistencyProof(4, 7)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const e2 = () => log.events[2]!;
const validEvent = () => `VALID: event ${e2().id} is leaf 2 of the tree of 6 events of the log auditor.example, whose checkpoint is signed by ${keyLabel}; ` +
  'its id, timestamp, user_id, event_type and data are as logged, written with the key "billing".\n';

describe('npm run verify-event', () => {
  const args = (overrides: Record<string, string> = {}): string[] =>
    Object.entries({ event: 'e2.json', proof: 'p2-6.json', checkpoint: 'c6.txt', key: 'key.txt', ...overrides }).flatMap(([name, value]) => [`--${name}`, value]);

  it('proves a saved event in a signed checkpoint: exit 0 and one line saying what was proved', async () => {
    assert.deepEqual(await run(VERIFY_EVENT, args()), { code: 0, stdout: validEvent(), stderr: '' });
  });

  it('proves a pretty-printed copy of the event too, with the key given on the command line', async () => {
    const pretty = file('pretty.json', prettyPrinted(log.eventJson(2)));
    assert.notEqual(pretty.length, log.eventJson(2).length);
    assert.deepEqual(await run(VERIFY_EVENT, args({ event: pretty, key: key.verifierKey })), { code: 0, stdout: validEvent(), stderr: '' });
  });

  it('--help prints the usage and exits 0', async () => {
    const result = await run(VERIFY_EVENT, ['--help']);
    assert.equal(result.code, 0);
    assert.ok(result.stdout.startsWith('usage: npm run verify-event -- --event FILE --proof FILE --checkpoint FILE --key KEY|FILE\n'), result.stdout);
    assert.match(result.stdout, /Exit status: 0 valid, 1 invalid \(says what failed\), 2 unusable input \(says which\)\.\n$/);
  });

  for (const [what, line] of [
    [['--bogus'], "verify-event: Unknown option '--bogus'"],
    [['--event', 'e2.json', '--proof', 'p2-6.json', '--key', 'key.txt'], 'verify-event: --checkpoint is required'],
    [['e2.json'], 'verify-event: Unexpected argument'],
  ] as const) {
    it(`${what.join(' ')}: says what is wrong, with the usage, and exits 2`, async () => {
      const result = await run(VERIFY_EVENT, [...what]);
      assert.deepEqual({ code: result.code, stdout: result.stdout }, { code: 2, stdout: '' });
      assert.ok(result.stderr.startsWith(line), result.stderr);
      assert.ok(result.stderr.includes('\nusage: npm run verify-event'), result.stderr);
    });
  }

  /** Each tamper, the files it changes, and the line that names it. */
  const tampers: Array<[string, () => Promise<Record<string, string>>, () => string]> = [
    ['a checkpoint signed by another key', async () => ({ checkpoint: file('t-other-key.txt', await log.checkpoint(6, createLogKey('auditor.example'))) }),
      () => `the checkpoint is not signed by the log's key ${keyLabel}: it carries no signature by the key ${keyLabel}`],
    ['a checkpoint whose size was edited after signing', async () => ({ checkpoint: file('t-edited.txt', (await log.checkpoint(6)).replace('\n6\n', '\n7\n')) }),
      () => `the checkpoint is not signed by the log's key ${keyLabel}: its signature by auditor.example does not verify: the text was changed, or signed by another key`],
    ['a signed text that is not a checkpoint', async () => ({ checkpoint: file('t-text.txt', `hello\n\n${signNote('hello\n', key.origin, key.privateKey, key.publicKey)}`) }),
      () => 'the text the log signed as the checkpoint is not a checkpoint: a checkpoint has an origin line, a size line and a root hash line'],
    ['a proof for another tree size than the checkpoint\'s', async () => ({ proof: 'p2-7.json' }),
      () => `the proof is for the tree of 7 events, the checkpoint for the tree of 6: ask for the proof at the checkpoint's size (GET /events/${e2().id}/proof?size=6)`],
    ['a proof whose leaf is not a leaf', async () => ({ proof: file('t-leaf.json', JSON.stringify({ ...(await log.inclusionProof(2, 6)), leaf: Buffer.from('garbage').toString('base64') })) }),
      () => 'the proof\'s leaf is not an event\'s leaf: the leaf is version 103, not 1'],
    ['an event whose user_id and timestamp were edited', async () => ({ event: file('t-user.json', log.eventJson(2).replace('"user-2"', '"mallory"').replace('00:00:02.000Z', '00:00:02.001Z')) }),
      () => 'the event is not the one in the proof\'s leaf: its timestamp is "2025-01-01T00:00:02.001Z", the leaf\'s "2025-01-01T00:00:02.000Z"; its user_id is "mallory", the leaf\'s "user-2"'],
    ['another event given with the proof', async () => ({ event: 'e3.json' }),
      () => `the event is not the one in the proof's leaf: its id is "${log.events[3]!.id}", the leaf's "${e2().id}"; its timestamp is "2025-01-01T00:00:03.000Z", the leaf's "2025-01-01T00:00:02.000Z"; its user_id is "user-3", the leaf's "user-2"`],
    ['an event whose data was edited', async () => ({ event: file('t-data.json', log.eventJson(2).replace('1.50', '1.5')) }),
      () => 'the event\'s data is not the data the leaf commits to: SHA-256(data_salt ‖ data) differs (the data was changed, or the salt is not this event\'s)'],
    ['a proof with another event\'s salt', async () => ({ proof: file('t-salt.json', JSON.stringify({ ...(await log.inclusionProof(2, 6)), data_salt: log.events[3]!.salt.toString('base64') })) }),
      () => 'the event\'s data is not the data the leaf commits to: SHA-256(data_salt ‖ data) differs (the data was changed, or the salt is not this event\'s)'],
    ['an inclusion path with its hashes swapped', async () => {
      const proof = await log.inclusionProof(2, 6);
      return { proof: file('t-path.json', JSON.stringify({ ...proof, inclusion_path: [proof.inclusion_path[1], proof.inclusion_path[0], ...proof.inclusion_path.slice(2)] })) };
    }, () => 'the leaf is not in the checkpoint\'s tree: the inclusion proof does not lead to the root hash of the tree of 6'],
    ['an inclusion path with a hash missing', async () => {
      const proof = await log.inclusionProof(2, 6);
      return { proof: file('t-short.json', JSON.stringify({ ...proof, inclusion_path: proof.inclusion_path.slice(0, -1) })) };
    }, () => 'the leaf is not in the checkpoint\'s tree: the inclusion proof has 2 hashes, fewer than a tree of 6 needs'],
    ['a proof claiming another leaf index', async () => ({ proof: file('t-index.json', JSON.stringify({ ...(await log.inclusionProof(2, 6)), leaf_index: 3 })) }),
      () => 'the leaf is not in the checkpoint\'s tree: the inclusion proof does not lead to the root hash of the tree of 6'],
  ];
  for (const [what, write, reason] of tampers) {
    it(`names ${what} and exits 1`, async () => {
      assert.deepEqual(await run(VERIFY_EVENT, args(await write())), { code: 1, stdout: `INVALID: ${reason()}\n`, stderr: '' });
    });
  }

  const unusable: Array<[string, () => Record<string, string>, () => string]> = [
    ['an event file that is not there', () => ({ event: 'missing.json' }), () => '--event missing.json: cannot read it: ENOENT: no such file or directory, open \'missing.json\''],
    ['an event file that is not JSON', () => ({ event: file('u-html.json', '<html>502 Bad Gateway</html>') }), () => '--event u-html.json: it is not JSON (Unexpected token \'<\', "<html>502 "... is not valid JSON)'],
    ['a list of events in place of one', () => ({ event: file('u-list.json', `[${log.eventJson(2)}]`) }), () => '--event u-list.json: it is not one event object but an array'],
    ['a proof without its salt', () => ({ proof: file('u-salt.json', '{"leaf_index":2,"tree_size":6,"leaf":"AQ==","inclusion_path":[]}') }), () => '--proof u-salt.json: it has no "data_salt" member'],
    ['a proof hash that is not base64', () => ({ proof: file('u-b64.json', JSON.stringify({ leaf_index: 2, tree_size: 6, leaf: 'AQ==', data_salt: Buffer.alloc(16).toString('base64'), inclusion_path: ['not base64!'] })) }),
      () => '--proof u-b64.json: its "inclusion_path"[0] is not the base64 of a 32-byte hash'],
    ['a checkpoint that is not a signed note', () => ({ checkpoint: file('u-note.txt', formatCheckpoint('auditor.example', 6, Buffer.alloc(32))) }),
      () => '--checkpoint u-note.txt: it is not a signed note as GET /checkpoint serves it: it is not a signed note: no blank line before the signatures'],
    ['a key file holding something else', () => ({ key: file('u-key.txt', 'ssh-ed25519 AAAAC3Nza\n') }), () => '--key u-key.txt: a verifier key is <name>+<key ID>+<base64 key>'],
    ['a key whose ID does not match it', () => ({ key: key.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+') }), () => '--key: the key ID does not match the name and the key'],
    ['a witness\'s cosignature key in place of the log\'s', () => ({ key: formatVerifierKey('witness.example', COSIGNATURE_V1, key.publicKey) }),
      () => '--key: witness.example is a witness\'s cosignature key (algorithm 4), not a log\'s key (algorithm 1): use the key GET /checkpoint/key serves'],
    ['a key argument that is neither a file nor a key', () => ({ key: 'log-key.txt' }), () => '--key log-key.txt: there is no such file, and it is not a verifier key (<name>+<key ID>+<base64 key>) either'],
  ];
  for (const [what, write, line] of unusable) {
    it(`says which input is unusable for ${what}, and exits 2`, async () => {
      assert.deepEqual(await run(VERIFY_EVENT, args(write())), { code: 2, stdout: '', stderr: `verify-event: ${line()}\n` });
    });
  }
});

describe('npm run verify-consistency', () => {
  const args = (overrides: Record<string, string | undefined> = {}): string[] =>
    Object.entries({ old: 'c4.txt', new: 'c7.txt', proof: 'cp4-7.json', key: 'key.txt', ...overrides })
      .flatMap(([name, value]) => (value === undefined ? [] : [`--${name}`, value]));

  it('proves the later checkpoint extends the earlier one: exit 0 and one line saying what was proved', async () => {
    assert.deepEqual(await run(VERIFY_CONSISTENCY, args()), {
      code: 0,
      stdout: `VALID: the tree of 7 events of the log auditor.example extends its tree of 4, both signed by ${keyLabel}: none of the first 4 events was changed, removed or reordered.\n`,
      stderr: '',
    });
  });

  it('proves two copies of one checkpoint the same tree, with no proof needed', async () => {
    assert.deepEqual(await run(VERIFY_CONSISTENCY, args({ old: 'c6.txt', new: 'c6.txt', proof: undefined })), {
      code: 0, stdout: `VALID: both checkpoints are the same tree of 6 events of the log auditor.example, signed by ${keyLabel}.\n`, stderr: '',
    });
  });

  it('--help prints the usage and exits 0; an unknown option exits 2 with the usage', async () => {
    const help = await run(VERIFY_CONSISTENCY, ['-h']);
    assert.equal(help.code, 0);
    assert.ok(help.stdout.startsWith('usage: npm run verify-consistency -- --old FILE --new FILE [--proof FILE] --key KEY|FILE\n'), help.stdout);
    const unknown = await run(VERIFY_CONSISTENCY, ['--from', 'c4.txt']);
    assert.deepEqual({ code: unknown.code, stdout: unknown.stdout }, { code: 2, stdout: '' });
    assert.ok(unknown.stderr.startsWith("verify-consistency: Unknown option '--from'"), unknown.stderr);
    assert.ok(unknown.stderr.includes('\nusage: npm run verify-consistency'), unknown.stderr);
  });

  const forked = new SignedLog(key); // the same key signing another history
  const tampers: Array<[string, () => Promise<Record<string, string | undefined>>, string]> = [
    ['a rollback: the new checkpoint smaller than the old', async () => ({ old: 'c7.txt', new: 'c4.txt', proof: undefined }),
      'the new checkpoint is smaller: rollback (the log signed a tree of 7 events, then one of 4)'],
    ['a fork: two trees of the same size', async () => {
      for (let i = 0; i < 7; i++) forked.append();
      return { old: 'c7.txt', new: file('f7.txt', await forked.checkpoint(7)), proof: undefined };
    }, 'same size, different roots: fork (the log signed two different trees of 7 events)'],
    ['a rewritten history: the new tree does not extend the old', async () => ({
      new: file('f7.txt', await forked.checkpoint(7)), proof: file('fp4-7.json', JSON.stringify(await forked.consistencyProof(4, 7))),
    }), 'the consistency proof fails: the consistency proof does not lead to the new root hash (tree of 7)'],
    ['a proof between other sizes', async () => ({ proof: file('cp3-7.json', JSON.stringify(await log.consistencyProof(3, 7))) }),
      'the proof is from size 3 to 7, the checkpoints are of sizes 4 and 7: ask for GET /proofs/consistency?from=4&to=7'],
    ['an altered proof', async () => {
      const proof = await log.consistencyProof(4, 7);
      const [first, ...rest] = proof.consistency_path.map((hash) => Buffer.from(hash, 'base64'));
      first![31]! ^= 1;
      return { proof: file('cp-bad.json', JSON.stringify({ ...proof, consistency_path: [first!, ...rest].map((hash) => hash.toString('base64')) })) };
    }, 'the consistency proof fails: the consistency proof does not lead to the new root hash (tree of 7)'],
    ['a proof from a size that is not a power of two, altered', async () => ({
      old: 'c6.txt', proof: file('cp6-7.json', JSON.stringify({ ...(await log.consistencyProof(6, 7)), consistency_path: (await log.consistencyProof(6, 7)).consistency_path.toReversed() })),
    }), 'the consistency proof fails: the consistency proof does not lead to the old root hash (tree of 6)'],
    ['an old checkpoint signed by another key', async () => ({ old: file('o-other.txt', await log.checkpoint(4, createLogKey('auditor.example'))) }),
      `the old checkpoint is not signed by the log's key ${keyLabel}: it carries no signature by the key ${keyLabel}`],
    ['checkpoints of two logs', async () => {
      const text = formatCheckpoint('other.example', 7, await log.tree.root(7));
      return { new: file('n-origin.txt', `${text}\n${signNote(text, key.origin, key.privateKey, key.publicKey)}`) };
    }, 'the checkpoints are of two logs: the old one of "auditor.example", the new one of "other.example"'],
  ];
  for (const [what, write, reason] of tampers) {
    it(`names ${what} and exits 1`, async () => {
      assert.deepEqual(await run(VERIFY_CONSISTENCY, args(await write())), { code: 1, stdout: `INVALID: ${reason}\n`, stderr: '' });
    });
  }

  for (const [what, overrides, line] of [
    ['no proof where one is needed', { proof: undefined }, '--proof: a consistency proof is needed from size 4 to 7: GET /proofs/consistency?from=4&to=7'],
    ['a proof without its path', { proof: 'no-path.json' }, '--proof no-path.json: it has no "consistency_path" member'],
    ['a new checkpoint file that is not there', { new: 'missing.txt' }, '--new missing.txt: cannot read it: ENOENT: no such file or directory, open \'missing.txt\''],
    ['an old checkpoint that is not a signed note', { old: 'e2.json' }, '--old e2.json: it is not a signed note as GET /checkpoint serves it: it is not a signed note: no blank line before the signatures'],
  ] as const) {
    it(`says which input is unusable for ${what}, and exits 2`, async () => {
      file('no-path.json', '{"from":4,"to":7}');
      assert.deepEqual(await run(VERIFY_CONSISTENCY, args(overrides)), { code: 2, stdout: '', stderr: `verify-consistency: ${line}\n` });
    });
  }
});
