/**
 * The witness's memory: the last checkpoint it verified, kept as JSON
 * `{ "origin", "size", "root_hash" (base64), "note" (the signed checkpoint as verified), "seen_at" }`.
 * Everything a later checkpoint is checked against, so it is written whole or not at all, and read
 * back only when its note still verifies under the log's key and says what the other fields say.
 */
import { readFileSync } from 'node:fs';
import { parseCheckpoint } from '../../verifier/checkpoint.js';
import { parseNote, verifyNoteSignature, type VerifierKey } from '../../verifier/signed-note.js';
import { writeWholeFile } from './secret-file.js';

export type WitnessState = { origin: string; size: number; rootHash: Buffer; note: string; seenAt: string };

/** The state in `path`, or undefined when there is none yet; throws an Error saying why a file there is unusable. */
export function readWitnessState(path: string, logKey: VerifierKey): WitnessState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the state file ${path}: ${(error as Error).message}`);
  }
  try {
    const saved: unknown = JSON.parse(text);
    if (typeof saved !== 'object' || saved === null) throw new Error('it is not a JSON object');
    const { note, seen_at: seenAt } = saved as Record<string, unknown>;
    if (typeof note !== 'string' || typeof seenAt !== 'string') throw new Error('"note" and "seen_at" must be strings');
    const parsed = parseNote(note);
    verifyNoteSignature(parsed, logKey);
    const checkpoint = parseCheckpoint(parsed.text);
    const state = { origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash, note, seenAt };
    if (JSON.stringify(saved) !== JSON.stringify(stateJson(state))) throw new Error('its origin, size or root_hash differ from its note\'s');
    return state;
  } catch (error) {
    throw new Error(`the state file ${path} is not one this witness wrote (${(error as Error).message}): restore it from a backup; never delete it to get past this, as that forgets what the log showed before`);
  }
}

/** Writes `state` to `path`, replacing the file there in one rename. */
export function writeWitnessState(path: string, state: WitnessState): void {
  writeWholeFile(path, `${JSON.stringify(stateJson(state), null, 2)}\n`, { replace: true });
}

function stateJson(state: WitnessState): Record<string, unknown> {
  return { origin: state.origin, size: state.size, root_hash: state.rootHash.toString('base64'), note: state.note, seen_at: state.seenAt };
}
