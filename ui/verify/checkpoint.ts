/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint), read as verifier/checkpoint.ts reads it:
 * origin, tree size, base64 root hash, optional extension lines.
 */
import { strictBase64 } from './bytes.js';

export type Checkpoint = { origin: string; size: number; rootHash: Uint8Array; extensions: string[] };

/** Reads a checkpoint's text (a signed note's text), or throws an Error saying why it is not one. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new Error('a checkpoint\'s text ends with a line break');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new Error('a checkpoint has an origin line, a size line and a root hash line');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw new Error('the checkpoint\'s origin line is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) throw new Error(`the checkpoint's size line is not a size: ${JSON.stringify(sizeLine.slice(0, 30))}`);
  const rootHash = strictBase64(rootLine);
  if (rootHash === undefined || rootHash.length !== 32) throw new Error('the checkpoint\'s third line is not the base64 of a 32-byte hash');
  if (extensions.some((line) => line.length === 0)) throw new Error('the checkpoint has an empty line');
  return { origin, size: Number(sizeLine), rootHash, extensions };
}
