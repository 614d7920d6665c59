import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parseCheckpoint } from '../../verifier/checkpoint.js';
import { rawPublicKey } from '../../verifier/ed25519.js';
import { COSIGNATURE_V1, cosign, formatVerifierKey, parseNote, parseVerifierKey, verifyCosignature, type VerifierKey } from '../../verifier/signed-note.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/** A witness's cosigner key, as `npm run witness -- --print-key` would give it to the log's operator. */
function witness(name: string): { key: VerifierKey; cosign(text: string, at?: bigint): string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = rawPublicKey(privateKey);
  return {
    key: parseVerifierKey(formatVerifierKey(name, COSIGNATURE_V1, publicKey)),
    cosign: (text, at = BigInt(Math.floor(Date.now() / 1000))) => cosign(text, name, privateKey, publicKey, at),
  };
}

describe(`POST /checkpoint/cosignatures (${TEST_BACKEND})`, () => {
  let server: TestServer;
  const trusted = witness('witness.example/w1');
  const stranger = witness('stranger.example/w9');
  const post = (body: string, contentType = 'text/plain; charset=utf-8') =>
    fetch(`${server.url}/checkpoint/cosignatures`, { method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': contentType }, body });
  const served = async (path = '/checkpoint'): Promise<string> => (await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': TEST_API_KEY } })).text();

  before(async () => {
    server = await startTestServer({ witnessKeys: [trusted.key], storeOptions: { checkpointIntervalMs: 60_000 } });
    for (let n = 0; n < 3; n++) assert.equal((await server.post({ user_id: 'w', event_type: 't' })).status, 201);
  });
  after(() => server.close());

  it('keeps a configured witness\'s cosignature and serves it with the checkpoint from then on, ignoring lines by others', async () => {
    const { tree_size: size } = (await (await fetch(`${server.url}/events/${await lastId()}/proof`, { headers: { 'X-API-Key': TEST_API_KEY } })).json()) as { tree_size: number };
    const note = await served(`/checkpoint?size=${size}`);
    const { text } = parseNote(note);
    const line = trusted.cosign(text);
    const response = await post(note + stranger.cosign(text) + line);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { tree_size: size, accepted: ['witness.example/w1'] });
    const after = await served(`/checkpoint?size=${size}`);
    assert.equal(after, note + line, 'the log\'s note, then the cosignature, and nothing of the stranger\'s');
    const kept = parseNote(after).signatures.find((signature) => signature.name === 'witness.example/w1')!;
    verifyCosignature(text, kept, trusted.key);
    assert.equal(parseCheckpoint(text).size, size);
  });

  it('refuses what is not a cosignature of a checkpoint this log signed, by a configured witness, with a 4xx that says why, and keeps nothing', async () => {
    // The latest checkpoint as the log signed it, without the cosignature the test above had kept.
    const whole = await served();
    const note = whole.slice(0, whole.indexOf('\n', whole.indexOf('\n\n') + 2) + 1);
    const { text } = parseNote(note);
    const size = parseCheckpoint(text).size;
    const forgedText = text.replace(/\n[^\n]+\n$/, `\n${Buffer.alloc(32, 9).toString('base64')}\n`);
    const cases: Array<[string, string, number, RegExp]> = [
      ['a stranger alone', note + stranger.cosign(text), 400, /no cosignature by a witness in AUDITOR_WITNESS_KEYS \(witness\.example\/w1\)/],
      ['no cosignature', note, 400, /no cosignature by a witness in AUDITOR_WITNESS_KEYS/],
      ['another text', `${forgedText}\n${note.slice(note.indexOf('\n\n') + 2)}${trusted.cosign(forgedText)}`, 400, new RegExp(`the posted text is not the checkpoint this log signed at size ${size}`)],
      ['a size never signed', `${text.replace(/\n\d+\n/, '\n999999\n')}\n${trusted.cosign(text.replace(/\n\d+\n/, '\n999999\n'))}`, 404, /this log has signed no checkpoint at size 999999/],
      ['not a note', 'hello', 400, /the body is not a signed note/],
      ['a cosignature over another text', note + trusted.cosign(forgedText), 400, /the cosignature by witness\.example\/w1 does not verify/],
      ['a cosignature from the future', note + trusted.cosign(text, BigInt(Math.floor(Date.now() / 1000) + 3600)), 400, /more than 10 minutes ahead of this log's clock/],
    ];
    for (const [what, body, status, message] of cases) {
      const response = await post(body);
      assert.equal(response.status, status, what);
      assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8', what);
      assert.match(((await response.json()) as { message: string }).message, message, what);
    }
    assert.equal(await served(`/checkpoint?size=${size}`), whole, 'nothing more was kept');
    const json = await post(note + trusted.cosign(text), 'application/json');
    assert.equal(json.status, 415);
    const huge = await post(note + 'x'.repeat(20_000));
    assert.equal(huge.status, 413);
  });

  async function lastId(): Promise<string> {
    const events = (await (await server.get('user_id=w')).json()) as Array<{ id: string }>;
    return events[events.length - 1]!.id;
  }
});
