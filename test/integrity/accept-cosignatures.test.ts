import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { acceptCosignatures, cosignedTreeSize, CosignatureRefusal, parseWitnessKeys, WitnessKeysError } from '../../src/integrity/accept-cosignatures.js';
import { formatCheckpoint } from '../../verifier/checkpoint.js';
import { rawPublicKey } from '../../verifier/ed25519.js';
import { COSIGNATURE_V1, cosign, ED25519, formatVerifierKey, parseVerifierKey, signNote, type VerifierKey } from '../../verifier/signed-note.js';

type Signer = { name: string; privateKey: KeyObject; publicKey: Buffer; verifier: VerifierKey; text: string };

function signer(name: string, algorithm: number): Signer {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = rawPublicKey(privateKey);
  const text = formatVerifierKey(name, algorithm, publicKey);
  return { name, privateKey, publicKey, verifier: parseVerifierKey(text), text };
}

const ORIGIN = 'log.example/audit';
const log = signer(ORIGIN, ED25519);
const w1 = signer('witness.example/w1', COSIGNATURE_V1);
const w2 = signer('witness.example/w2', COSIGNATURE_V1);
const stranger = signer('stranger.example/w', COSIGNATURE_V1);

const NOW_MS = Date.UTC(2025, 0, 1, 12, 0, 0);
const NOW = BigInt(NOW_MS / 1000);
const root = (seed: string): Buffer => createHash('sha256').update(seed).digest();
const TEXT = formatCheckpoint(ORIGIN, 5, root('five'));
const SERVED = `${TEXT}\n${signNote(TEXT, ORIGIN, log.privateKey, log.publicKey)}`;
const cosignBy = (who: Signer, at = NOW - 5n, text = TEXT): string => cosign(text, who.name, who.privateKey, who.publicKey, at);

function refusal(status: 400 | 404, message: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof CosignatureRefusal, String(error));
    assert.deepEqual({ name: error.name, status: error.status, message: error.message }, { name: 'CosignatureRefusal', status, message });
    return true;
  };
}

const HOW_TO_POST = 'post the checkpoint exactly as GET /checkpoint serves it, with your cosignature line appended';

describe('accepting the cosignatures a witness posts', () => {
  it('keeps the line of a configured witness, and leaves out the log\'s own line and an unknown witness\'s', () => {
    const line = cosignBy(w1);
    const body = SERVED + cosignBy(stranger) + line;
    assert.deepEqual(acceptCosignatures(body, TEXT, [w1.verifier, w2.verifier], NOW_MS), [{ witness: w1.name, line, cosignedAt: NOW - 5n }]);
    assert.equal(cosignedTreeSize(body), 5);
  });

  it('keeps one line per configured witness, the latest when a witness cosigned twice', () => {
    const older = cosignBy(w1, NOW - 60n);
    const newer = cosignBy(w1, NOW - 1n);
    const other = cosignBy(w2, NOW - 30n);
    assert.deepEqual(acceptCosignatures(SERVED + newer + other + older, TEXT, [w1.verifier, w2.verifier], NOW_MS), [
      { witness: w1.name, line: newer, cosignedAt: NOW - 1n },
      { witness: w2.name, line: other, cosignedAt: NOW - 30n },
    ]);
  });

  it('accepts a witness clock up to 10 minutes ahead of the log\'s', () => {
    const line = cosignBy(w1, NOW + 600n);
    assert.deepEqual(acceptCosignatures(SERVED + line, TEXT, [w1.verifier], NOW_MS), [{ witness: w1.name, line, cosignedAt: NOW + 600n }]);
  });

  it('refuses a body that is not a signed note with 400', () => {
    assert.throws(() => acceptCosignatures(TEXT, TEXT, [w1.verifier], NOW_MS),
      refusal(400, `the body is not a signed note (it is not a signed note: no blank line before the signatures): ${HOW_TO_POST}`));
    assert.throws(() => cosignedTreeSize(`${TEXT}\nhello\n`),
      refusal(400, `the body is not a signed note (a signature line begins with an em dash and a space: "hello"): ${HOW_TO_POST}`));
  });

  it('refuses a signed note whose text is not a checkpoint with 400', () => {
    const text = 'log.example/audit\nfive\nroot\n';
    assert.throws(() => acceptCosignatures(`${text}\n${cosignBy(w1, NOW, text)}`, TEXT, [w1.verifier], NOW_MS),
      refusal(400, `the signed note's text is not a checkpoint (the checkpoint's size line is not a size: "five"): ${HOW_TO_POST}`));
  });

  it('refuses a checkpoint of a size the log signed none at with 404', () => {
    assert.throws(() => acceptCosignatures(SERVED + cosignBy(w1), undefined, [w1.verifier], NOW_MS),
      refusal(404, 'this log has signed no checkpoint at size 5: cosign a checkpoint from GET /checkpoint'));
  });

  it('refuses a checkpoint that is not the one this log signed at that size with 400', () => {
    const forged = formatCheckpoint(ORIGIN, 5, root('other'));
    assert.throws(() => acceptCosignatures(`${forged}\n${cosignBy(w1, NOW, forged)}`, TEXT, [w1.verifier], NOW_MS),
      refusal(400, `the posted text is not the checkpoint this log signed at size 5: ${HOW_TO_POST}`));
  });

  it('refuses a post without a line by a configured witness with 400, naming the configured witnesses', () => {
    assert.throws(() => acceptCosignatures(SERVED + cosignBy(stranger), TEXT, [w1.verifier, w2.verifier], NOW_MS),
      refusal(400, 'no cosignature by a witness in AUDITOR_WITNESS_KEYS (witness.example/w1, witness.example/w2): append your cosignature line, and ask the log\'s operator to add your key there'));
    assert.throws(() => acceptCosignatures(SERVED + cosignBy(w1), TEXT, [], NOW_MS),
      refusal(400, 'this log accepts no cosignatures: AUDITOR_WITNESS_KEYS is empty (the log\'s operator adds a witness\'s key there)'));
  });

  it('refuses a line by a configured witness that does not verify with 400, even beside one that does', () => {
    const overOtherText = cosignBy(w1, NOW, formatCheckpoint(ORIGIN, 5, root('other')));
    assert.throws(() => acceptCosignatures(SERVED + cosignBy(w2) + overOtherText, TEXT, [w1.verifier, w2.verifier], NOW_MS),
      refusal(400, 'the cosignature by witness.example/w1 does not verify (the cosignature by witness.example/w1 does not verify): sign the checkpoint\'s text exactly as served, with the key configured for you'));
    const short = `— ${w1.name} ${Buffer.concat([w1.verifier.keyId, Buffer.alloc(64)]).toString('base64')}\n`;
    assert.throws(() => acceptCosignatures(SERVED + short, TEXT, [w1.verifier], NOW_MS),
      refusal(400, 'the cosignature by witness.example/w1 does not verify (a cosignature is 8 bytes of time and 64 of signature): sign the checkpoint\'s text exactly as served, with the key configured for you'));
  });

  it('refuses a line by a configured witness\'s name made with another key with 400, naming both key IDs', () => {
    const impostor = signer(w1.name, COSIGNATURE_V1);
    assert.throws(() => acceptCosignatures(SERVED + cosignBy(impostor), TEXT, [w1.verifier], NOW_MS),
      refusal(400, `the cosignature by witness.example/w1 carries key ID ${impostor.verifier.keyId.toString('hex')}, but AUDITOR_WITNESS_KEYS holds ${w1.verifier.keyId.toString('hex')} for that name: sign with the key the log's operator configured, or give them your new one`));
  });

  it('refuses a cosignature dated more than 10 minutes ahead of the log\'s clock with 400', () => {
    assert.throws(() => acceptCosignatures(SERVED + cosignBy(w1, NOW + 601n), TEXT, [w1.verifier], NOW_MS),
      refusal(400, 'the cosignature by witness.example/w1 is dated 2025-01-01T12:10:01Z, more than 10 minutes ahead of this log\'s clock (2025-01-01T12:00:00Z): check the witness machine\'s clock'));
    assert.throws(() => acceptCosignatures(SERVED + cosignBy(w1, 2n ** 62n), TEXT, [w1.verifier], NOW_MS),
      refusal(400, `the cosignature by witness.example/w1 is dated ${2n ** 62n} s after 1970, more than 10 minutes ahead of this log's clock (2025-01-01T12:00:00Z): check the witness machine's clock`));
  });
});

describe('AUDITOR_WITNESS_KEYS', () => {
  it('reads comma-separated cosigner keys, ignoring spaces and empty entries', () => {
    assert.deepEqual(parseWitnessKeys(''), []);
    const keys = parseWitnessKeys(` ${w1.text} ,${w2.text},`);
    assert.deepEqual(keys.map((key) => ({ name: key.name, algorithm: key.algorithm, publicKey: key.publicKey })), [
      { name: w1.name, algorithm: COSIGNATURE_V1, publicKey: w1.publicKey },
      { name: w2.name, algorithm: COSIGNATURE_V1, publicKey: w2.publicKey },
    ]);
  });

  it('names every bad key by its place: not a verifier key, a log\'s key, a key listed twice', () => {
    assert.throws(() => parseWitnessKeys(`${w1.text},w1+zz,${log.text},${w1.text}`), (error: unknown) => {
      assert.ok(error instanceof WitnessKeysError);
      assert.deepEqual(error.problems, [
        'key 2 ("w1+zz"): a verifier key is <name>+<key ID>+<base64 key>',
        `key 3 (${JSON.stringify(`${log.text.slice(0, 40)}…`)}): is a log's signing key (algorithm 1), not a witness's cosigner key (algorithm 4); use the key \`npm run witness -- --print-key\` prints`,
        `key 4 (${JSON.stringify(`${w1.text.slice(0, 40)}…`)}): is listed twice`,
      ]);
      return true;
    });
  });
});
