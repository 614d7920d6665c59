import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parseCheckpoint } from '../../verifier/checkpoint.js';
import { parseNote, parseVerifierKey, verifyCosignature, type VerifierKey } from '../../verifier/signed-note.js';
import { FAKE_LOG_API_KEY, leaves, logSigner, startFakeLog, type FakeLog } from '../helpers/fake-log.js';

const WITNESS = fileURLToPath(new URL('../../src/cli/witness.js', import.meta.url));
const ORIGIN = 'log.example/audit';
const NAME = 'witness.example/w1';

type Run = { code: number | string; stdout: string; stderr: string };

/** Runs the witness where no .env is, with the log's admin key in its environment (unless told). */
async function witness(args: readonly string[], { cwd, env = { AUDITOR_WITNESS_API_KEY: FAKE_LOG_API_KEY } }: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  const child = spawn(process.execPath, [WITNESS, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code, signal] = await once(child, 'close') as [number | null, string | null];
  return { code: code ?? signal ?? 'unknown', stdout, stderr };
}

/** The cosignature lines a posted body carries after the log's own, each checked against `key` over the body's text. */
function postedCosignatures(body: string, key: VerifierKey): { text: string; times: bigint[] } {
  const note = parseNote(body);
  const mine = note.signatures.filter((signature) => signature.name === key.name);
  return { text: note.text, times: mine.map((signature) => verifyCosignature(note.text, signature, key)) };
}

describe('the witness (npm run witness) against a log', () => {
  let dir: string;
  let log: FakeLog;
  let witnessKey: VerifierKey | undefined;
  let args: string[];
  const statePath = (): string => join(dir, 'witness.json');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-witness-'));
    log = await startFakeLog(ORIGIN, () => (witnessKey === undefined ? [] : [witnessKey]));
    args = ['--url', log.url, '--key', log.signer.verifierKey, '--state', 'witness.json', '--signing-key', 'witness.key', '--once'];
  });
  after(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--print-key makes the witness\'s key on first use, owner-only, and prints its cosigner key', async () => {
    const run = await witness(['--print-key', '--signing-key', 'witness.key', '--name', NAME], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    witnessKey = parseVerifierKey(run.stdout);
    assert.equal(run.stdout, `${witnessKey.name}+${witnessKey.keyId.toString('hex')}+${Buffer.concat([Buffer.from([4]), witnessKey.publicKey]).toString('base64')}\n`);
    assert.deepEqual({ name: witnessKey.name, algorithm: witnessKey.algorithm }, { name: NAME, algorithm: 4 });
    assert.equal(run.stderr, `witness: made a new key named ${NAME} in witness.key; give its cosigner key (npm run witness -- --print-key --signing-key witness.key) to the log's operator, for AUDITOR_WITNESS_KEYS\n`);
    assert.match(readFileSync(join(dir, 'witness.key'), 'utf8'), new RegExp(`^PRIVATE\\+KEY\\+${NAME}\\+${witnessKey.keyId.toString('hex')}\\+B[A-Za-z0-9+/]{43}\\n$`));
    assert.equal(statSync(join(dir, 'witness.key')).mode & 0o777, 0o600);

    const again = await witness(['--print-key', '--signing-key', 'witness.key'], { cwd: dir });
    assert.deepEqual(again, { code: 0, stdout: run.stdout, stderr: '' });
    const renamed = await witness(['--print-key', '--signing-key', 'witness.key', '--name', 'other.example/w'], { cwd: dir });
    assert.deepEqual(renamed, {
      code: 2, stdout: '',
      stderr: `witness: --name is "other.example/w" but the key in witness.key is named "${NAME}": a witness keeps its name; leave out --name, or use another --signing-key file\n`,
    });
  });

  it('on its first run, trusts the log\'s checkpoint, records it, says so, and cosigns it', async () => {
    log.serve(leaves(5));
    const run = await witness(args, { cwd: dir });
    const checkpoint = parseCheckpoint(log.text());
    assert.deepEqual(run, {
      code: 0,
      stdout: `size 5 root ${checkpoint.rootHash.toString('base64')}: first checkpoint seen, trusted on first use and recorded in witness.json; cosigned, accepted by the log (${NAME})\n`,
      stderr: '',
    });
    const state = JSON.parse(readFileSync(statePath(), 'utf8')) as Record<string, unknown>;
    assert.equal(typeof state.seen_at, 'string');
    assert.ok(Math.abs(Date.parse(state.seen_at as string) - Date.now()) < 60_000, String(state.seen_at));
    assert.deepEqual(state, { origin: ORIGIN, size: 5, root_hash: checkpoint.rootHash.toString('base64'), note: log.posted[0]!.slice(0, log.posted[0]!.lastIndexOf('—')), seen_at: state.seen_at });
    assert.equal(parseNote(state.note as string).text, log.text());
    assert.equal(log.posted.length, 1);
    const { text, times } = postedCosignatures(log.posted[0]!, witnessKey!);
    assert.equal(text, log.text());
    assert.equal(times.length, 1);
    assert.ok(Math.abs(Number(times[0]!) - Date.now() / 1000) < 60, `cosigned at ${times[0]}`);
  });

  it('when nothing changed and the log serves its cosignature, says so and posts nothing', async () => {
    const run = await witness(args, { cwd: dir });
    assert.deepEqual(run, { code: 0, stdout: `size 5 root ${parseCheckpoint(log.text()).rootHash.toString('base64')}: unchanged; already cosigned\n`, stderr: '' });
    assert.equal(log.posted.length, 1);
  });

  it('when the log grew, checks the consistency proof, records the new checkpoint and cosigns it', async () => {
    log.serve(leaves(13));
    const run = await witness(args, { cwd: dir });
    const checkpoint = parseCheckpoint(log.text());
    assert.deepEqual(run, {
      code: 0,
      stdout: `size 13 root ${checkpoint.rootHash.toString('base64')}: consistent with size 5, recorded in witness.json; cosigned, accepted by the log (${NAME})\n`,
      stderr: '',
    });
    const state = JSON.parse(readFileSync(statePath(), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([state.origin, state.size, state.root_hash], [ORIGIN, 13, checkpoint.rootHash.toString('base64')]);
    assert.equal(parseNote(state.note as string).text, log.text());
    assert.equal(log.posted.length, 2);
    const { text, times } = postedCosignatures(log.posted[1]!, witnessKey!);
    assert.deepEqual([text, times.length], [log.text(), 1]);
  });

  for (const [what, serve, reason] of [
    ['a rollback to a smaller tree', () => log.serve(leaves(8)), (old: string, now: string) => `ROLLBACK: the log now serves size 8 (root ${now}), smaller than the size 13 (root ${old}, seen `],
    ['a fork: another root at the same size', () => log.serve([...leaves(12), ...leaves(1, 'forged')]), (old: string, now: string) => `FORK: the log now serves size 13 (root ${now}), but this witness saw size 13 (root ${old}, seen `],
    ['a fork: a larger tree that does not extend the one seen', () => log.serve([...leaves(3), ...leaves(1, 'edited'), ...leaves(16).slice(4)]),
      (old: string, now: string) => `FORK: the log's size 16 (root ${now}) does not extend the size 13 (root ${old}, seen `],
    ['a checkpoint signed by another key', () => log.serve(leaves(14), logSigner(ORIGIN)),
      () => `the log's checkpoint is refused: it carries no signature by the key ${ORIGIN}+${log.signer.verifierKey.split('+')[1]}`],
  ] as const) {
    it(`refuses ${what}: exits 1 saying why, posts nothing and leaves the state file as it was`, async () => {
      const saved = readFileSync(statePath(), 'utf8');
      const old = (JSON.parse(saved) as { root_hash: string }).root_hash;
      const posts = log.posted.length;
      await serve();
      try {
        const run = await witness(args, { cwd: dir });
        assert.deepEqual({ code: run.code, stdout: run.stdout }, { code: 1, stdout: '' });
        const now = parseCheckpoint(log.text()).rootHash.toString('base64');
        assert.ok(run.stderr.startsWith(`witness: ${reason(old, now)}`), run.stderr);
        assert.ok(run.stderr.endsWith('. The state file witness.json is left as it was.\n'), run.stderr);
        assert.equal(run.stderr.split('\n').length, 2, run.stderr);
        assert.equal(readFileSync(statePath(), 'utf8'), saved);
        assert.equal(log.posted.length, posts);
      } finally {
        log.serve(leaves(13));
      }
    });
  }

  it('when the log answers 503, says it could not check, exits 2 with --once, and leaves the state file as it was', async () => {
    const saved = readFileSync(statePath(), 'utf8');
    log.failWith = 503;
    try {
      assert.deepEqual(await witness(args, { cwd: dir }), { code: 2, stdout: '', stderr: 'witness: could not check the log: GET /checkpoint answered 503: the log is unwell\n' });
    } finally {
      log.failWith = undefined;
    }
    assert.equal(readFileSync(statePath(), 'utf8'), saved);
  });

  it('when the log is unreachable, says so and exits 2 with --once', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, 'close');
    const run = await witness(['--url', `http://127.0.0.1:${port}`, ...args.slice(2)], { cwd: dir });
    assert.deepEqual(run, { code: 2, stdout: '', stderr: `witness: could not check the log: GET /checkpoint failed: connect ECONNREFUSED 127.0.0.1:${port}\n` });
  });

  it('when the log refuses its cosignature, says why and exits 2 with --once, having recorded the checkpoint', async () => {
    const configured = witnessKey;
    witnessKey = undefined;
    try {
      log.serve(leaves(20));
      const run = await witness(args, { cwd: dir });
      assert.deepEqual(run, {
        code: 2, stdout: '',
        stderr: 'witness: could not check the log: POST /checkpoint/cosignatures answered 400: this log accepts no cosignatures: AUDITOR_WITNESS_KEYS is empty (the log\'s operator adds a witness\'s key there)\n',
      });
      assert.equal((JSON.parse(readFileSync(statePath(), 'utf8')) as { size: number }).size, 20);
    } finally {
      witnessKey = configured;
    }
    const retried = await witness(args, { cwd: dir });
    assert.deepEqual({ code: retried.code, stderr: retried.stderr }, { code: 0, stderr: '' });
    assert.match(retried.stdout, /^size 20 root [A-Za-z0-9+/]{43}=: unchanged; cosigned, accepted by the log \(witness\.example\/w1\)\n$/);
  });

  it('refuses a state file that was edited or whose note the log\'s key did not sign, with exit 2, changing nothing', async () => {
    const saved = readFileSync(statePath(), 'utf8');
    const state = JSON.parse(saved) as { size: number; note: string };
    const edits: [string, string][] = [
      [JSON.stringify({ ...state, size: 3 }), 'its origin, size or root_hash differ from its note\'s'],
      [JSON.stringify({ ...state, note: state.note.replace(`\n${state.size}\n`, '\n3\n') }), `its signature by ${ORIGIN} does not verify: the text was changed, or signed by another key`],
      ['{"size": 20', jsonParseError('{"size": 20')], // V8's own words, which differ between Node 20 and 24
    ];
    try {
      for (const [text, reason] of edits) {
        writeFileSync(statePath(), text);
        assert.deepEqual(await witness(args, { cwd: dir }), {
          code: 2, stdout: '',
          stderr: `witness: could not check the log: the state file witness.json is not one this witness wrote (${reason}): restore it from a backup; never delete it to get past this, as that forgets what the log showed before\n`,
        }, text);
        assert.equal(readFileSync(statePath(), 'utf8'), text);
      }
    } finally {
      writeFileSync(statePath(), saved);
    }
  });

  it('--help prints the usage to stdout and exits 0, and an unknown option is refused with it and exit 2', async () => {
    const help = await witness(['--help'], { cwd: dir });
    assert.deepEqual({ code: help.code, stderr: help.stderr }, { code: 0, stderr: '' });
    assert.ok(help.stdout.startsWith('usage: npm run witness -- --url URL --key KEY --state FILE --signing-key FILE'), help.stdout);
    const bogus = await witness(['--bogus'], { cwd: dir });
    assert.deepEqual({ code: bogus.code, stdout: bogus.stdout }, { code: 2, stdout: '' });
    assert.ok(bogus.stderr.startsWith("witness: Unknown option '--bogus'."), bogus.stderr);
    assert.ok(bogus.stderr.endsWith(`\n${help.stdout}`), bogus.stderr);
  });

  it('refuses a bad command line or a missing API key with exit 2, saying what to give', async () => {
    const cases: [string[], Record<string, string> | undefined, string][] = [
      [args.filter((arg) => arg !== '--once').slice(2), undefined, 'witness: name the log: --url https://audit.example.com\n'],
      [['--key', 'nonsense', ...args.slice(0, 2), ...args.slice(4)], undefined, 'witness: --key: neither a verifier key nor a file holding one (a verifier key is <name>+<key ID>+<base64 key>); give the key GET /checkpoint/key serves\n'],
      [['--key', witnessKey!.name + '+' + witnessKey!.keyId.toString('hex') + '+' + Buffer.concat([Buffer.from([4]), witnessKey!.publicKey]).toString('base64'), ...args.slice(0, 2), ...args.slice(4)], undefined,
        `witness: --key: ${NAME} is a witness's cosigner key, not a log's: give the key GET /checkpoint/key serves\n`],
      [[...args, '--interval', '10'], undefined, 'witness: --interval: expected a time from 1s to 24h such as 30s, 5m or 1h, got "10"\n'],
      [args, {}, 'witness: set AUDITOR_WITNESS_API_KEY (in the environment or .env) to an admin key of the log: it posts cosignatures\n'],
    ];
    for (const [argv, env, stderr] of cases) {
      assert.deepEqual(await witness(argv, { cwd: dir, ...(env === undefined ? {} : { env }) }), { code: 2, stdout: '', stderr }, argv.join(' '));
    }
  });

  it('reads the log\'s key from a file, and its API key from .env, where the service\'s settings are none of its business', async () => {
    writeFileSync(join(dir, 'log.key'), `${log.signer.verifierKey}\n`);
    writeFileSync(join(dir, '.env'), `AUDITOR_WITNESS_API_KEY=${FAKE_LOG_API_KEY}\nPORT=eighty\nAUDITOR_DB=postgres://db.internal/audit\n`);
    try {
      const run = await witness(['--key', 'log.key', ...args.slice(0, 2), ...args.slice(4)], { cwd: dir, env: {} });
      assert.deepEqual({ code: run.code, stderr: run.stderr }, { code: 0, stderr: '' });
      assert.match(run.stdout, /^size 20 root .*: unchanged; already cosigned\n$/);
    } finally {
      rmSync(join(dir, '.env'));
    }
  });

  // Bounded: a witness that never notices the fork would otherwise keep the test waiting for ever.
  it('without --once, checks round after round until the log forks, then exits 1', { timeout: 60_000 }, async (t) => {
    const child = spawn(process.execPath, [WITNESS, ...args.filter((arg) => arg !== '--once'), '--interval', '1s'],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', AUDITOR_WITNESS_API_KEY: FAKE_LOG_API_KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill());
    let stdout = '';
    let stderr = '';
    const waiting = new Set<() => void>();
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const check of waiting) check();
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = once(child, 'close');
    /** Resolves once stdout matches `pattern` (checked at each write), or rejects if the witness exits first. */
    const line = (pattern: RegExp): Promise<void> => new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pattern.test(stdout)) return;
        waiting.delete(check);
        resolve();
      };
      waiting.add(check);
      void exited.then(() => reject(new Error(`the witness exited before writing ${pattern}: ${stdout}${stderr}`)));
      check();
    });
    await line(/^size 20 .*: unchanged; already cosigned\n$/);
    log.serve(leaves(21));
    await line(/\nsize 21 .*: consistent with size 20, recorded in witness\.json; cosigned, accepted by the log \(witness\.example\/w1\)\n$/);
    log.serve([...leaves(21, 'forged')]);
    const [code] = await exited as [number | null];
    assert.equal(code, 1);
    assert.match(stderr, /^witness: FORK: the log now serves size 21 \(root .*\), but this witness saw size 21 \(root .*\)\. The state file witness\.json is left as it was\.\n$/);
  });
});

/** What JSON.parse says of text, in the running Node's words. */
function jsonParseError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} parsed`);
}
