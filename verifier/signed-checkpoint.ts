/**
 * A checkpoint as a verifier takes it: a signed note whose signature by the log's key verifies,
 * and whose signed text is a checkpoint. Nothing in the text is read before the signature holds.
 */
import { parseCheckpoint, type Checkpoint } from './checkpoint.js';
import { ED25519, parseNote, parseVerifierKey, verifyNoteSignature, type VerifierKey } from './signed-note.js';
import { holds, readOr, Unusable, type Input } from './verdict.js';

/** The log's verifier key (as GET /checkpoint/key serves it); Unusable when it is not one. */
export function readLogKey(text: string): VerifierKey {
  const key = readOr('key', () => parseVerifierKey(text));
  if (key.algorithm !== ED25519) throw new Unusable('key', `${key.name} is a witness's cosignature key (algorithm ${key.algorithm}), not a log's key (algorithm ${ED25519}): use the key GET /checkpoint/key serves`);
  return key;
}

/**
 * The checkpoint in `note`, once its signature by `key` verifies. `which` names it in messages
 * ("the checkpoint", "the old checkpoint").
 */
export function openCheckpoint(input: Input, which: string, note: string, key: VerifierKey): Checkpoint {
  const parsed = readOr(input, () => {
    try {
      return parseNote(note);
    } catch (error) {
      throw new Error(`it is not a signed note as GET /checkpoint serves it: ${(error as Error).message}`);
    }
  });
  holds(`${which} is not signed by the log's key ${key.name}+${key.keyId.toString('hex')}`, () => verifyNoteSignature(parsed, key));
  return holds(`the text the log signed as ${which} is not a checkpoint`, () => parseCheckpoint(parsed.text));
}
