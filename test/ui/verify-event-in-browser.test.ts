/**
 * The page's "Verify" (ui/verify/verify-event-in-browser.ts, WebCrypto only) against a real
 * service: the event, its proof, the checkpoint and the key fetched as the page fetches them, then
 * altered one way at a time. Every verdict is also asked of npm run verify-event's checks
 * (verifier/check-event.ts), and the two must agree.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadSigningKey, signingKeyPath } from '../../src/integrity/signing-key.js';
import { verifyEventInBrowser, type VerifyEventInput, type VerifyEventResult } from '../../ui/verify/verify-event-in-browser.js';
import { checkEvent } from '../../verifier/check-event.js';
import { formatCheckpoint, parseCheckpoint } from '../../verifier/checkpoint.js';
import { rawPublicKey } from '../../verifier/ed25519.js';
import { COSIGNATURE_V1, cosign, formatVerifierKey, keyId, parseNote, signNote } from '../../verifier/signed-note.js';
import { Invalid, Unusable } from '../../verifier/verdict.js';
import { testSigningKeyFile } from '../helpers/test-database.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';
import { apiCalls } from '../helpers/api-calls.js';
import { createRemovalLock } from '../../src/retention/removal-lock.js';
import { startRetentionJob } from '../../src/retention/retention-job.js';
import { parseRetentionPolicy } from '../../src/retention/retention-policy.js';
import { createLogKey } from '../verifier/signed-log.js';

type Served = { id: string; event: string; proof: string; checkpoint: string; key: string };

/** npm run verify-event's verdict on the same texts: 'VALID', or the class of what it threw. */
function cliVerdict(input: Served): 'VALID' | 'Invalid' | 'Unusable' {
  try {
    // "VALID: …", or "VALID (expired): …" / "VALID (erased): …" for a removed payload.
    assert.match(checkEvent({ event: input.event, proof: input.proof, checkpoint: input.checkpoint, key: input.key }), /^VALID(?: \((?:expired|erased)\))?: /);
    return 'VALID';
  } catch (error) {
    if (error instanceof Invalid) return 'Invalid';
    if (error instanceof Unusable) return 'Unusable';
    throw error;
  }
}

function inBrowser(input: Served): Promise<VerifyEventResult> {
  const page: VerifyEventInput = { event: input.event, proofJson: input.proof, checkpointText: input.checkpoint, verifierKey: input.key };
  return verifyEventInBrowser(page);
}

/** Asserts the page refuses `input` with exactly `reason`, and npm run verify-event refuses it too. */
async function assertRefused(input: Served, reason: string, cli: 'Invalid' | 'Unusable' = 'Invalid'): Promise<void> {
  assert.deepEqual(await inBrowser(input), { valid: false, reason });
  assert.equal(cliVerdict(input), cli);
}

/** The proof's JSON with `change` applied to its parsed members. */
function editProof(proof: string, change: (members: Record<string, unknown>) => void): string {
  const members = JSON.parse(proof) as Record<string, unknown>;
  change(members);
  return JSON.stringify(members);
}

describe('verifying an event in the browser, against the service', () => {
  let server: TestServer;
  let signLikeTheLog: (text: string) => string;
  /** The log's origin, its key's name (the test database's, which differs between backends). */
  let origin: string;
  let genuine: Served;
  /** The event's proof at the size of an earlier checkpoint, which holds it too. */
  let proofAtEarlierSize: string;
  let size: number;
  let earlierSize: number;
  const ids: string[] = [];

  const fetchText = async (path: string, type: string): Promise<string> => {
    const response = await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    assert.equal(response.headers.get('content-type'), type, path);
    return response.text();
  };
  const postEvents = async (count: number): Promise<void> => {
    for (let n = 0; n < count; n++) {
      // As text: JSON.stringify would spell 2.50 as 2.5, and the log keeps the client's own tokens.
      const response = await server.post(`{"user_id":"user-${ids.length}","event_type":"invoice.paid","data":{"amount": 2.50,"note":"ünïcode \\"quoted\\"","n":${ids.length}}}`);
      assert.equal(response.status, 201);
      ids.push(((await response.json()) as { id: string }).id);
    }
  };

  before(async () => {
    server = await startTestServer({ storeOptions: { checkpointIntervalMs: 60_000 } });
    const location = server.database.location;
    const keyFile = location.kind === 'sqlite' ? signingKeyPath(location.path) : testSigningKeyFile();
    const logKey = loadSigningKey(keyFile, { origin: undefined, create: false });
    origin = logKey.name;
    signLikeTheLog = (text) => `${text}\n${logKey.sign(text)}`;

    // Two checkpoints: a proof asked for an event newer than the latest checkpoint has one signed.
    await postEvents(4);
    await fetchText(`/events/${ids[3]}/proof`, 'application/json; charset=utf-8');
    await postEvents(3);
    await fetchText(`/events/${ids[6]}/proof`, 'application/json; charset=utf-8');

    // As the page does: the key, the latest checkpoint, the event, its proof at that checkpoint's size.
    const key = await fetchText('/checkpoint/key', 'text/plain; charset=utf-8');
    const checkpoint = await fetchText('/checkpoint', 'text/plain; charset=utf-8');
    size = parseCheckpoint(parseNote(checkpoint).text).size;
    const id = ids[2]!;
    const event = await fetchText(`/events/${id}`, 'application/json; charset=utf-8');
    const proof = await fetchText(`/events/${id}/proof?size=${size}`, 'application/json; charset=utf-8');
    genuine = { id, event, proof, checkpoint, key };
    earlierSize = 4;
    proofAtEarlierSize = await fetchText(`/events/${id}/proof?size=${earlierSize}`, 'application/json; charset=utf-8');
  });
  after(() => server.close());

  it('finds the genuine event in the log, as npm run verify-event does', async () => {
    assert.equal(size, 7);
    const keyId = genuine.key.trim().split('+')[1]!;
    assert.deepEqual(await inBrowser(genuine), { valid: true, size: 7, keyName: origin, keyId, leafIndex: 2, writtenWith: 'AUDITOR_API_KEY' });
    assert.equal(cliVerdict(genuine), 'VALID');
  });

  it('finds the event pretty-printed, and takes the proof parsed', async () => {
    const pretty = JSON.stringify(JSON.parse(genuine.event), null, 2).replace('"amount": 2.5', '"amount": 2.50');
    assert.ok(pretty.includes('"amount": 2.50') && pretty.includes('\n  "data": {\n'), pretty);
    const result = await verifyEventInBrowser({ event: pretty, proofJson: JSON.parse(genuine.proof), checkpointText: genuine.checkpoint, verifierKey: genuine.key });
    assert.equal(result.valid, true);
    assert.equal(cliVerdict({ ...genuine, event: pretty }), 'VALID');
  });

  it('refuses an event given parsed whose data parsing respelled (2.50 as 2.5), and says to check the response\'s text', async () => {
    const result = await verifyEventInBrowser({ event: JSON.parse(genuine.event), proofJson: genuine.proof, checkpointText: genuine.checkpoint, verifierKey: genuine.key });
    assert.deepEqual(result, {
      valid: false,
      reason: 'the event\'s data does not match its leaf: it was altered after it was logged, or the salt is not this event\'s (SHA-256(data_salt ‖ data) differs from the leaf\'s commitment); '
        + 'the event was given parsed, which respells some data (1.50 as 1.5): check the response\'s text',
    });
  });

  it('reports the latest time a witness states in the checkpoint\'s cosignature lines', async () => {
    const note = parseNote(genuine.checkpoint);
    const witness = (name: string, at: bigint): string => {
      const { privateKey } = generateKeyPairSync('ed25519');
      return cosign(note.text, name, privateKey, rawPublicKey(privateKey), at);
    };
    const checkpoint = genuine.checkpoint + witness('witness.one', 1_764_320_000n) + witness('witness.two', 1_764_320_060n);
    const result = await inBrowser({ ...genuine, checkpoint });
    assert.equal(result.valid, true);
    assert.equal(result.valid && result.timestamp, '2025-11-28T08:54:20.000Z');
    assert.equal(cliVerdict({ ...genuine, checkpoint }), 'VALID');
  });

  it('refuses the event once its data is altered', async () => {
    const event = genuine.event.replace('"amount":2.50', '"amount":2.51');
    assert.notEqual(event, genuine.event);
    await assertRefused({ ...genuine, event },
      'the event\'s data does not match its leaf: it was altered after it was logged, or the salt is not this event\'s (SHA-256(data_salt ‖ data) differs from the leaf\'s commitment)');
  });

  it('refuses the event once its user_id is altered', async () => {
    const event = genuine.event.replace('"user_id":"user-2"', '"user_id":"user-3"');
    assert.notEqual(event, genuine.event);
    await assertRefused({ ...genuine, event },
      'the event is not the one in the proof\'s leaf: its user_id is "user-3", the leaf\'s "user-2". It was altered after it was logged, or the proof is another event\'s');
  });

  it('refuses the event once its id or its timestamp is altered', async () => {
    const otherId = ids[5]!;
    await assertRefused({ ...genuine, event: genuine.event.replace(genuine.id, otherId) },
      `the event is not the one in the proof's leaf: its id is "${otherId}", the leaf's "${genuine.id}". It was altered after it was logged, or the proof is another event's`);
    const { timestamp } = JSON.parse(genuine.event) as { timestamp: string };
    const earlier = new Date(Date.parse(timestamp) - 1).toISOString();
    await assertRefused({ ...genuine, event: genuine.event.replace(timestamp, earlier) },
      `the event is not the one in the proof's leaf: its timestamp is "${earlier}", the leaf's "${timestamp}". It was altered after it was logged, or the proof is another event's`);
  });

  it('refuses a proof with one bit of its path flipped', async () => {
    const proof = editProof(genuine.proof, (members) => {
      const path = members.inclusion_path as string[];
      const first = Buffer.from(path[0]!, 'base64');
      first[0] = first[0]! ^ 0x01;
      path[0] = first.toString('base64');
    });
    await assertRefused({ ...genuine, proof },
      'the event\'s leaf is not in the checkpoint\'s tree: the inclusion proof does not lead to the root hash of the tree of 7');
  });

  it('refuses a proof of another size than the checkpoint\'s', async () => {
    await assertRefused({ ...genuine, proof: proofAtEarlierSize },
      `the proof is for the tree of ${earlierSize} events, the checkpoint for the tree of 7: ask for the proof at the checkpoint's size (GET /events/${genuine.id}/proof?size=7)`);
  });

  it('refuses a checkpoint whose root was altered, signed or not by the log\'s key', async () => {
    const { rootHash } = parseCheckpoint(parseNote(genuine.checkpoint).text);
    const otherRoot = Buffer.from(rootHash);
    otherRoot[31] = otherRoot[31]! ^ 0x80;
    const text = formatCheckpoint(origin, 7, otherRoot);
    const signatureLine = genuine.checkpoint.slice(genuine.checkpoint.lastIndexOf('\n\n') + 2);
    await assertRefused({ ...genuine, checkpoint: `${text}\n${signatureLine}` },
      `the checkpoint is not signed by the log's key ${origin}+${genuine.key.split('+')[1]}: its signature by ${origin} does not verify: the text was changed, or signed by another key`);
    // A log that signs a root its tree does not have: the proof does not lead to it.
    await assertRefused({ ...genuine, checkpoint: signLikeTheLog(text) },
      'the event\'s leaf is not in the checkpoint\'s tree: the inclusion proof does not lead to the root hash of the tree of 7');
  });

  it('refuses a checkpoint signed by another key of the same name', async () => {
    const impostor = createLogKey(origin);
    const text = parseNote(genuine.checkpoint).text;
    await assertRefused({ ...genuine, checkpoint: `${text}\n${signNote(text, origin, impostor.privateKey, impostor.publicKey)}` },
      `the checkpoint is not signed by the log's key ${origin}+${genuine.key.split('+')[1]}: it carries no signature by the key ${origin}+${genuine.key.split('+')[1]}`);
  });

  it('refuses the verifier key of another log, one whose key ID was altered, and a witness\'s key', async () => {
    const other = createLogKey('other.example/log');
    const otherId = other.verifierKey.split('+')[1]!;
    await assertRefused({ ...genuine, key: other.verifierKey },
      `the checkpoint is not signed by the log's key other.example/log+${otherId}: it carries no signature by the key other.example/log+${otherId}`);

    // The key ID is between the first two plus signs (base64 may hold more).
    const [name, id] = genuine.key.split('+') as [string, string];
    const alteredId = `${id.slice(0, 7)}${id[7] === '0' ? '1' : '0'}`;
    const alteredKey = genuine.key.replace(`${name}+${id}+`, `${name}+${alteredId}+`);
    assert.notEqual(alteredKey, genuine.key);
    await assertRefused({ ...genuine, key: alteredKey },
      'the log\'s key could not be read, so nothing was checked: the key ID does not match the name and the key', 'Unusable');

    const { privateKey } = generateKeyPairSync('ed25519');
    const witnessKey = formatVerifierKey('witness.example', COSIGNATURE_V1, rawPublicKey(privateKey));
    await assertRefused({ ...genuine, key: witnessKey },
      'the log\'s key could not be read, so nothing was checked: witness.example is a witness\'s cosignature key (algorithm 4), not a log\'s key (algorithm 1): use the key GET /checkpoint/key serves', 'Unusable');
    assert.equal(keyId('witness.example', COSIGNATURE_V1, rawPublicKey(privateKey)).toString('hex'), witnessKey.split('+')[1]);
  });

  it('refuses a signature line whose base64 is not spelled canonically, though it decodes to the same bytes', async () => {
    // 68 bytes (key ID and signature) end in a digit with 2 unused bits, then "=": setting one of
    // those bits changes the text and not the bytes a lenient decoder reads.
    const split = genuine.checkpoint.lastIndexOf('\n\n') + 2;
    const line = genuine.checkpoint.slice(split, -1);
    const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = line.length - 2;
    assert.equal(line.slice(last + 1), '=');
    const respelled = `${line.slice(0, last)}${digits[digits.indexOf(line[last]!) ^ 1]}=`;
    assert.deepEqual(Buffer.from(respelled.slice(respelled.lastIndexOf(' ') + 1), 'base64'), Buffer.from(line.slice(line.lastIndexOf(' ') + 1), 'base64'));
    await assertRefused({ ...genuine, checkpoint: `${genuine.checkpoint.slice(0, split)}${respelled}\n` },
      `the checkpoint the service sent could not be read, so nothing was checked: it is not a signed note as GET /checkpoint serves it: a signature line is "— <key name> <base64>": ${JSON.stringify(respelled.slice(0, 40))}`, 'Unusable');
  });

  it('refuses a checkpoint text that is not a signed note', async () => {
    await assertRefused({ ...genuine, checkpoint: parseNote(genuine.checkpoint).text },
      'the checkpoint the service sent could not be read, so nothing was checked: it is not a signed note as GET /checkpoint serves it: it is not a signed note: no blank line before the signatures', 'Unusable');
    await assertRefused({ ...genuine, checkpoint: '<!doctype html><title>Sign in</title>\n' },
      'the checkpoint the service sent could not be read, so nothing was checked: it is not a signed note as GET /checkpoint serves it: it is not a signed note: no blank line before the signatures', 'Unusable');
  });

  it('never finds an event whose event, proof or checkpoint text has one character replaced, and agrees with npm run verify-event', async () => {
    // The log's own note only: a witness's line is not what the page checks.
    const inputs = ['event', 'proof', 'checkpoint'] as const;
    const replacement = fc.record({
      input: fc.constantFrom(...inputs),
      at: fc.nat(),
      by: fc.constantFrom(...'0123456789abcdefABCDEF+/=",:{}[]\n -_.'.split('')),
    });
    await fc.assert(fc.asyncProperty(replacement, async ({ input, at, by }) => {
      const text = genuine[input];
      const i = at % text.length;
      fc.pre(text[i] !== by);
      const altered = { ...genuine, [input]: `${text.slice(0, i)}${by}${text.slice(i + 1)}` };
      const result = await inBrowser(altered);
      assert.equal(result.valid, false, `${input}[${i}] → ${JSON.stringify(by)}`);
      assert.notEqual(cliVerdict(altered), 'VALID');
    }), { numRuns: 300 });
  });
});

describe('verifying a removed event in the browser', () => {
  const DAY = 86_400_000;
  const START = Date.parse('2026-01-01T00:00:00Z');
  let server: TestServer;
  let now = START;
  const { call, post } = apiCalls(() => server);
  const ids: Record<string, string> = {};
  const text = async (path: string): Promise<string> => {
    const response = await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(response.status, 200, path);
    return response.text();
  };
  /** What the page fetches for `id`: the event, its proof at the latest checkpoint, that checkpoint and the key. */
  const served = async (id: string): Promise<Served> => {
    const proof = await text(`/events/${id}/proof`);
    const size = (JSON.parse(proof) as { tree_size: number }).tree_size;
    return { id, event: await text(`/events/${id}`), proof, checkpoint: await text(`/checkpoint?size=${size}`), key: await text('/checkpoint/key') };
  };

  before(async () => {
    const lock = createRemovalLock();
    server = await startTestServer({ storeOptions: { clock: () => now, checkpointIntervalMs: 60_000 }, removalLock: lock });
    ids.expired = await post({ user_id: 'u1', event_type: 'login', data: { ip: '192.0.2.1' } });
    ids.erased = await post({ user_id: 'ada', event_type: 'note', data: { pin: '4821' } });
    ids.kept = await post({ user_id: 'u2', event_type: 'note', data: { n: 1 } });
    now = START + 10 * DAY;
    const job = startRetentionJob({ store: server.store, policy: parseRetentionPolicy('login=1d')!.policy!, lock, intervalMs: 3_600_000, clock: () => now });
    assert.equal((await job.runNow()).removed, 1);
    await job.stop();
    assert.equal((await call('POST', '/erasures', { user_id: 'ada' })).status, 200);
  });
  after(() => server.close());

  it('verifies an expired event\'s fields against its leaf, and says its data was removed, when and by which record', async () => {
    const input = await served(ids.expired!);
    const { removed } = JSON.parse(input.event) as { removed: { reason: string; at: string; by: string } };
    const result = await inBrowser(input);
    assert.ok(result.valid, JSON.stringify(result));
    assert.deepEqual([result.leafIndex, result.writtenWith, result.removed], [0, 'AUDITOR_API_KEY', { ...removed, reason: 'retention', checked: 'fields' }]);
    assert.equal(cliVerdict(input), 'VALID');
  });

  it('verifies an event erased with its user by its leaf\'s hash alone, and says only that', async () => {
    const input = await served(ids.erased!);
    const result = await inBrowser(input);
    assert.ok(result.valid, JSON.stringify(result));
    assert.equal(result.leafIndex, 1);
    assert.equal(result.writtenWith, null, 'no leaf is left to name the key');
    assert.deepEqual([result.removed?.reason, result.removed?.checked], ['erasure', 'leaf-hash']);
    assert.equal(cliVerdict(input), 'VALID');
  });

  it('refuses an expired event altered, a removal claimed for a kept event, and a removed event given its salt back', async () => {
    const expired = await served(ids.expired!);
    const event = JSON.parse(expired.event) as Record<string, unknown>;
    await assertRefused({ ...expired, event: JSON.stringify({ ...event, event_type: 'logout' }) },
      'the event is not the one in the proof\'s leaf: its event_type is "logout", the leaf\'s "login". It was altered after it was logged, or the proof is another event\'s');
    const kept = await served(ids.kept!);
    await assertRefused({ ...kept, event: JSON.stringify({ ...JSON.parse(kept.event) as object, data: null, removed: event.removed }) },
      'the event says its payload was removed, but the log\'s proof still has the salt of its data: it was not removed');
    await assertRefused({ ...kept, proof: editProof(kept.proof, (members) => { members.data_salt = null; }) },
      'the proof is of an event whose payload was removed, and the event still has its data: they are not the same event as the log holds it now');
    // An erased event's leaf hash swapped for another leaf's: not in the tree.
    const erased = await served(ids.erased!);
    const swapped = { ...erased, proof: editProof(erased.proof, (members) => { members.leaf_hash = Buffer.alloc(32, 7).toString('base64'); }) };
    const result = await inBrowser(swapped);
    assert.equal(result.valid, false);
    assert.match((result as { reason: string }).reason, /^the leaf's hash is not in the checkpoint's tree: /);
    assert.equal(cliVerdict(swapped), 'Invalid');
  });
});

describe('the browser verifier\'s code', () => {
  it('uses nothing of Node: its compiled modules import only each other and the verifier\'s three pure modules', () => {
    const folder = new URL('../../ui/verify/', import.meta.url);
    const files = readdirSync(folder).filter((name) => name.endsWith('.js'));
    assert.ok(files.includes('verify-event-in-browser.js'));
    const shared = ['event-data.js', 'verdict.js', 'pseudonym.js'];
    const allowed = new Set([...files.map((name) => `./${name}`), ...shared.map((name) => `../../verifier/${name}`)]);
    for (const file of [...files.map((name) => new URL(name, folder)), ...shared.map((name) => new URL(`../../verifier/${name}`, import.meta.url))]) {
      // Comments may name what the code replaces (Buffer, node:crypto); the code may not use it.
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      const imports = [...code.matchAll(/^(?:import|export)[^'"]*from\s*'([^']+)'/gm)].map((match) => match[1]!);
      for (const specifier of imports) assert.ok(allowed.has(specifier), `${file.pathname} imports ${specifier}`);
      assert.doesNotMatch(code, /\b(?:Buffer|process|require)\b|node:/, file.pathname);
    }
  });
});
