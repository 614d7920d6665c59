/**
 * Every byte string has one base64 spelling: the bits past the last byte must be zero. Node's
 * decoder ignores them, so without this rule a signature line or a proof hash could be respelt,
 * a bit of its text flipped, and still verify.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEvent } from '../../verifier/check-event.js';
import { parseCheckpoint } from '../../verifier/checkpoint.js';
import { parseNote } from '../../verifier/signed-note.js';
import { Unusable } from '../../verifier/verdict.js';
import { createLogKey, SignedLog } from './signed-log.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The same bytes, spelt with the unused low bit of the last base64 digit set. */
function respelt(base64: string): string {
  const padding = base64.length - base64.replace(/=+$/, '').length;
  assert.ok(padding > 0, 'only a base64 text with padding has unused bits');
  const at = base64.length - padding - 1;
  const respelling = base64.slice(0, at) + ALPHABET[ALPHABET.indexOf(base64[at]!) + 1]! + base64.slice(at + 1);
  assert.deepEqual(Buffer.from(respelling, 'base64'), Buffer.from(base64, 'base64'), 'Node decodes both spellings to the same bytes');
  return respelling;
}

describe('base64 in notes, keys, checkpoints and proofs', () => {
  const log = new SignedLog(createLogKey('auditor.example'));
  for (let i = 0; i < 3; i++) log.append();

  it('refuses a signature line spelt with unused bits set, as not a signed note', async () => {
    const note = await log.checkpoint();
    const [text, line] = note.split('\n\u2014 ');
    const [name, signature] = line!.trimEnd().split(' ');
    const changed = `${text}\n\u2014 ${name} ${respelt(signature!)}\n`;
    assert.throws(() => parseNote(changed), /a signature line is "— <key name> <base64>"/);
    const inputs = { event: log.eventJson(1), proof: JSON.stringify(await log.inclusionProof(1)), key: log.key.verifierKey };
    assert.match(checkEvent({ ...inputs, checkpoint: note }), /^VALID: /);
    assert.throws(() => checkEvent({ ...inputs, checkpoint: changed }), (error: unknown) =>
      error instanceof Unusable && error.input === 'checkpoint' && /^it is not a signed note as GET \/checkpoint serves it/.test(error.message));
  });

  // (A verifier key's 33 bytes fill its base64 exactly: it has no unused bits.)
  it('refuses a checkpoint root and a proof hash spelt with unused bits set', async () => {
    const text = parseNote(await log.checkpoint()).text;
    const [origin, size, root] = text.trimEnd().split('\n');
    assert.throws(() => parseCheckpoint(`${origin}\n${size}\n${respelt(root!)}\n`), /third line is not the base64 of a 32-byte hash/);
    const proof = await log.inclusionProof(0);
    const inputs = { event: log.eventJson(0), checkpoint: await log.checkpoint(), key: log.key.verifierKey };
    assert.throws(() => checkEvent({ ...inputs, proof: JSON.stringify({ ...proof, inclusion_path: [respelt(proof.inclusion_path[0]!), ...proof.inclusion_path.slice(1)] }) }),
      (error: unknown) => error instanceof Unusable && error.message === 'its "inclusion_path"[0] is not the base64 of a 32-byte hash');
  });
});
