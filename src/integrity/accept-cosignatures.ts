/**
 * What POST /checkpoint/cosignatures keeps of a posted checkpoint: the cosignature lines
 * (c2sp.org/tlog-cosignature) by the witnesses this log is configured to trust
 * (AUDITOR_WITNESS_KEYS), over a checkpoint text this log signed itself. Pure: the caller reads
 * the checkpoint it signed at the posted size and stores what is returned.
 */
import { parseCheckpoint } from '../../verifier/checkpoint.js';
import { COSIGNATURE_V1, formatSignatureLine, parseNote, parseVerifierKey, verifyCosignature, type Note, type VerifierKey } from '../../verifier/signed-note.js';

/** A cosignature line to keep: whose it is, the line itself (ending in a line break) and the time it states. */
export type AcceptedCosignature = { witness: string; line: string; cosignedAt: bigint };

/** Why a posted cosignature is refused: a 400 (the post is wrong) or a 404 (no such checkpoint here). */
export class CosignatureRefusal extends Error {
  override name = 'CosignatureRefusal';
  readonly status: 400 | 404;

  constructor(status: 400 | 404, message: string) {
    super(message);
    this.status = status;
  }
}

/** How far ahead of this log's clock a witness's clock may be (c2sp.org/tlog-witness allows some skew). */
export const MAX_CLOCK_AHEAD_SECONDS = 10 * 60;

const HOW_TO_POST = 'post the checkpoint exactly as GET /checkpoint serves it, with your cosignature line appended';

/** The tree size of the checkpoint a posted body cosigns, for the caller to read the one it signed at that size. */
export function cosignedTreeSize(body: string): number {
  return readPosted(body).size;
}

/**
 * The cosignature lines to keep from `body`, a posted signed note. `signedText` is the text of the
 * checkpoint this log signed at the size the body names (see cosignedTreeSize), or undefined when
 * it signed none there. `now` is this log's clock, in milliseconds since 1970. Lines by the log
 * itself and by names not configured are left out; every line by a configured witness must
 * verify, or the whole post is refused, so that a witness with a wrong key or clock hears of it.
 */
export function acceptCosignatures(
  body: string, signedText: string | undefined, witnessKeys: readonly VerifierKey[], now: number,
): AcceptedCosignature[] {
  const { note, size } = readPosted(body);
  if (signedText === undefined) throw new CosignatureRefusal(404, `this log has signed no checkpoint at size ${size}: cosign a checkpoint from GET /checkpoint`);
  if (note.text !== signedText) {
    throw new CosignatureRefusal(400, `the posted text is not the checkpoint this log signed at size ${size}: ${HOW_TO_POST}`);
  }

  const latest = new Map<string, AcceptedCosignature>();
  for (const signature of note.signatures) {
    const named = witnessKeys.filter((key) => key.name === signature.name);
    if (named.length === 0) continue; // the log's own line, or another witness's: not ours to judge
    const key = named.find((candidate) => candidate.keyId.equals(signature.keyId));
    if (key === undefined) {
      throw new CosignatureRefusal(400,
        `the cosignature by ${signature.name} carries key ID ${signature.keyId.toString('hex')}, but AUDITOR_WITNESS_KEYS holds ` +
        `${named.map((k) => k.keyId.toString('hex')).join(', ')} for that name: sign with the key the log's operator configured, or give them your new one`);
    }
    let cosignedAt: bigint;
    try {
      cosignedAt = verifyCosignature(signedText, signature, key);
    } catch (error) {
      throw new CosignatureRefusal(400, `the cosignature by ${key.name} does not verify (${(error as Error).message}): sign the checkpoint's text exactly as served, with the key configured for you`);
    }
    const limit = BigInt(Math.floor(now / 1000) + MAX_CLOCK_AHEAD_SECONDS);
    if (cosignedAt > limit) {
      throw new CosignatureRefusal(400,
        `the cosignature by ${key.name} is dated ${isoSeconds(cosignedAt)}, more than ${MAX_CLOCK_AHEAD_SECONDS / 60} minutes ` +
        `ahead of this log's clock (${isoSeconds(BigInt(Math.floor(now / 1000)))}): check the witness machine's clock`);
    }
    const line = formatSignatureLine(signature.name, signature.keyId, signature.signature);
    const earlier = latest.get(key.name);
    if (earlier === undefined || earlier.cosignedAt < cosignedAt) latest.set(key.name, { witness: key.name, line, cosignedAt });
  }
  if (latest.size === 0) {
    const names = witnessKeys.map((key) => key.name);
    throw new CosignatureRefusal(400, names.length === 0
      ? 'this log accepts no cosignatures: AUDITOR_WITNESS_KEYS is empty (the log\'s operator adds a witness\'s key there)'
      : `no cosignature by a witness in AUDITOR_WITNESS_KEYS (${names.join(', ')}): append your cosignature line, and ask the log's operator to add your key there`);
  }
  return [...latest.values()];
}

/**
 * Reads AUDITOR_WITNESS_KEYS: comma-separated cosigner verifier keys (algorithm 4), as
 * `npm run witness -- --print-key` prints them. Throws a WitnessKeysError with one problem per bad key.
 */
export function parseWitnessKeys(text: string): VerifierKey[] {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const keys: VerifierKey[] = [];
  const problems: string[] = [];
  entries.forEach((entry, i) => {
    const which = `key ${i + 1} (${JSON.stringify(entry.length > 40 ? `${entry.slice(0, 40)}…` : entry)})`;
    let key: VerifierKey;
    try {
      key = parseVerifierKey(entry);
    } catch (error) {
      problems.push(`${which}: ${(error as Error).message}`);
      return;
    }
    if (key.algorithm !== COSIGNATURE_V1) {
      problems.push(`${which}: is a log's signing key (algorithm ${key.algorithm}), not a witness's cosigner key (algorithm 4); use the key \`npm run witness -- --print-key\` prints`);
    } else if (keys.some((k) => k.name === key.name && k.keyId.equals(key.keyId))) {
      problems.push(`${which}: is listed twice`);
    } else {
      keys.push(key);
    }
  });
  if (problems.length > 0) throw new WitnessKeysError(problems);
  return keys;
}

export class WitnessKeysError extends Error {
  override name = 'WitnessKeysError';
  readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

function readPosted(body: string): { note: Note; size: number } {
  let note: Note;
  try {
    note = parseNote(body);
  } catch (error) {
    throw new CosignatureRefusal(400, `the body is not a signed note (${(error as Error).message}): ${HOW_TO_POST}`);
  }
  try {
    return { note, size: parseCheckpoint(note.text).size };
  } catch (error) {
    throw new CosignatureRefusal(400, `the signed note's text is not a checkpoint (${(error as Error).message}): ${HOW_TO_POST}`);
  }
}

/** A time in seconds since 1970 as ISO 8601, or as the number where no date can show it. */
function isoSeconds(seconds: bigint): string {
  return seconds <= 8_640_000_000_000n ? new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z') : `${seconds} s after 1970`;
}
