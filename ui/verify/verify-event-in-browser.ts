/**
 * The checks of npm run verify-event (verifier/check-event.ts), in the browser: that the event on
 * the page is in the log, as a checkpoint signed by the log's key shows it. The same checks in the
 * same order, with WebCrypto for SHA-256 and Ed25519; the reading of the saved event, the two
 * kinds of failure and the pseudonym's prefix are the verifier's own modules, which need nothing of Node.
 */
import { readSavedEvent, type SavedEvent } from '../../verifier/event-data.js';
import { PSEUDONYM_PREFIX } from '../../verifier/pseudonym.js';
import { holds, Invalid, readOr, Unusable, type Input } from '../../verifier/verdict.js';
import { equalBytes, hex } from './bytes.js';
import { parseCheckpoint, type Checkpoint } from './checkpoint.js';
import { dataCommitment, decodeLeaf } from './leaf.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { readInclusionProof, type InclusionProof } from './proof-json.js';
import { ED25519, latestCosignatureTime, parseNote, parseVerifierKey, UnsupportedBrowser, verifyNoteSignature, type VerifierKey } from './signed-note.js';

export type VerifyEventInput = {
  /**
   * GET /events/{id}: the response's text, best. Its parsed JSON is taken too, but is written out
   * again to be hashed, which respells some data (1.50 becomes 1.5) so that it no longer matches.
   */
  event: unknown;
  /** GET /events/{id}/proof?size=N: its text or its parsed JSON. */
  proofJson: unknown;
  /** GET /checkpoint?size=N: the signed note, witnesses' cosignature lines and all. */
  checkpointText: string;
  /** GET /checkpoint/key: `<origin>+<key ID>+<base64 key>`. */
  verifierKey: string;
};

export type VerifyEventResult =
  | {
    valid: true;
    /** The size of the tree the checkpoint signs, which holds the event. */
    size: number;
    /**
     * The latest time a witness states it cosigned the checkpoint: the checkpoint itself carries
     * no time, and a witness's signature is not checked (the page holds no witness's key).
     */
    timestamp?: string;
    /** The name of the log's key that signed the checkpoint: the log's origin. */
    keyName: string;
    /** The log's key ID, hexadecimal, as in the verifier key. */
    keyId: string;
    /** The event's place in the log, from 0. */
    leafIndex: number;
    /** The name of the API key that wrote the event, as the leaf records it (null for events from before names were kept, or when no leaf is left to say). */
    writtenWith: string | null;
    /**
     * Set when the event's payload was removed on the record: why, when and by which record (the
     * event says so; the record itself is an event of the log to be checked like any other), and
     * what could still be checked: its fields against its leaf (expired, or erased by a field of
     * data), or only its leaf's hash in the tree (erased with its user).
     */
    removed?: { reason: string; at: string; by: string; checked: 'fields' | 'leaf-hash' };
  }
  | { valid: false; reason: string };

/** Resolves to what was proved, or to the first check that failed as a sentence the page can show; never rejects. */
export async function verifyEventInBrowser(input: VerifyEventInput): Promise<VerifyEventResult> {
  try {
    return await checkEvent(input);
  } catch (error) {
    if (error instanceof Invalid || error instanceof UnsupportedBrowser) return { valid: false, reason: error.message };
    if (error instanceof Unusable) return { valid: false, reason: `${UNUSABLE[error.input]} could not be read, so nothing was checked: ${error.message}` };
    return { valid: false, reason: `the event could not be checked: ${(error as Error).message}` };
  }
}

const UNUSABLE: Record<Input, string> = {
  event: 'the event the service sent',
  proof: 'the inclusion proof the service sent',
  checkpoint: 'the checkpoint the service sent',
  key: 'the log\'s key',
  old: 'the old checkpoint',
  new: 'the new checkpoint',
};

async function checkEvent(input: VerifyEventInput): Promise<VerifyEventResult> {
  const key = await readLogKey(input.verifierKey);
  const parsedEvent = typeof input.event !== 'string';
  const event = readOr('event', () => readSavedEvent(parsedEvent ? JSON.stringify(input.event) ?? '' : input.event as string));
  const proof = readOr('proof', () => readInclusionProof(input.proofJson));
  const { checkpoint, timestamp } = await openCheckpoint(input.checkpointText, key);

  if (proof.treeSize !== checkpoint.size) {
    throw new Invalid(`the proof is for the tree of ${proof.treeSize} events, the checkpoint for the tree of ${checkpoint.size}: ask for the proof at the checkpoint's size (GET /events/${event.id}/proof?size=${checkpoint.size})`);
  }
  const proven = { size: checkpoint.size, ...(timestamp === undefined ? {} : { timestamp }), keyName: key.name, keyId: hex(key.keyId), leafIndex: proof.leafIndex };
  if (event.removed !== undefined) return checkRemovedEvent(event, event.removed, proof, checkpoint, proven);
  if (proof.leaf === null || proof.dataSalt === null) {
    throw new Invalid('the proof is of an event whose payload was removed, and the event still has its data: they are not the same event as the log holds it now');
  }
  const leafBytes = proof.leaf;
  const dataSalt = proof.dataSalt;
  const leaf = holds('the proof\'s leaf is not an event\'s leaf', () => decodeLeaf(leafBytes));
  requireLeafFields(event, leaf);
  const commitment = await dataCommitment(dataSalt, event.dataText);
  if (!equalBytes(commitment, leaf.dataSha256)) {
    throw new Invalid('the event\'s data does not match its leaf: it was altered after it was logged, or the salt is not this event\'s (SHA-256(data_salt ‖ data) differs from the leaf\'s commitment)'
      + (parsedEvent ? '; the event was given parsed, which respells some data (1.50 as 1.5): check the response\'s text' : ''));
  }
  await holdsAsync('the event\'s leaf is not in the checkpoint\'s tree', async () => verifyInclusion(proof.leafIndex, proof.treeSize, await leafHash(leafBytes), proof.path, checkpoint.rootHash));

  return { valid: true, ...proven, writtenWith: leaf.keyName };
}

type Proven = Omit<Extract<VerifyEventResult, { valid: true }>, 'valid' | 'writtenWith' | 'removed'>;

/**
 * An event whose payload was removed (verifier/check-event.ts, checkRemovedEvent): an expired one,
 * or one erased by a field of data, still has a leaf made of its fields and the commitment of the
 * data that was there, so all but its data is checked; one erased with its user has only its
 * leaf's hash left, whose place in the tree is all that can be proven.
 */
async function checkRemovedEvent(event: SavedEvent, removed: NonNullable<SavedEvent['removed']>, proof: InclusionProof, checkpoint: Checkpoint, proven: Proven): Promise<VerifyEventResult> {
  if (event.dataText !== 'null') throw new Invalid('the event says its payload was removed, yet it has data');
  if (proof.dataSalt !== null) throw new Invalid('the event says its payload was removed, but the log\'s proof still has the salt of its data: it was not removed');
  if (proof.removed !== undefined && (['reason', 'at', 'by'] as const).some((name) => proof.removed![name] !== removed[name])) {
    throw new Invalid(`the event and the log's proof tell different removals: the event ${JSON.stringify(removed)}, the proof ${JSON.stringify(proof.removed)}`);
  }
  if (proof.leaf === null) {
    if (removed.reason !== 'erasure') throw new Invalid('the log served no leaf for an event expired by retention, which keeps it: the leaf cannot be checked');
    // Only an erasure of the user drops the leaf, and it always leaves the pseudonym.
    if (!event.userId.startsWith(PSEUDONYM_PREFIX)) throw new Invalid(`the log served no leaf, as for an event erased with its user, but the event's user_id ${JSON.stringify(event.userId)} is not a pseudonym (${PSEUDONYM_PREFIX}…)`);
    const hash = proof.leafHash!;
    await holdsAsync('the leaf\'s hash is not in the checkpoint\'s tree', () => verifyInclusion(proof.leafIndex, proof.treeSize, hash, proof.path, checkpoint.rootHash));
    return { valid: true, ...proven, writtenWith: null, removed: { ...removed, checked: 'leaf-hash' } };
  }
  const leafBytes = proof.leaf;
  const leaf = holds('the proof\'s leaf is not an event\'s leaf', () => decodeLeaf(leafBytes));
  requireLeafFields(event, leaf);
  await holdsAsync('the event\'s leaf is not in the checkpoint\'s tree', async () => verifyInclusion(proof.leafIndex, proof.treeSize, await leafHash(leafBytes), proof.path, checkpoint.rootHash));
  return { valid: true, ...proven, writtenWith: leaf.keyName, removed: { ...removed, checked: 'fields' } };
}

/** The log's verifier key (verifier/signed-checkpoint.ts, readLogKey). */
async function readLogKey(text: string): Promise<VerifierKey> {
  let key: VerifierKey;
  try {
    key = await parseVerifierKey(text);
  } catch (error) {
    if (error instanceof UnsupportedBrowser) throw error;
    throw new Unusable('key', (error as Error).message);
  }
  if (key.algorithm !== ED25519) throw new Unusable('key', `${key.name} is a witness's cosignature key (algorithm ${key.algorithm}), not a log's key (algorithm ${ED25519}): use the key GET /checkpoint/key serves`);
  return key;
}

/**
 * The checkpoint in `note`, once its signature by `key` verifies (verifier/signed-checkpoint.ts,
 * openCheckpoint): nothing in the text is read before the signature holds.
 */
async function openCheckpoint(text: string, key: VerifierKey): Promise<{ checkpoint: Checkpoint; timestamp: string | undefined }> {
  const note = readOr('checkpoint', () => {
    try {
      return parseNote(text);
    } catch (error) {
      throw new Error(`it is not a signed note as GET /checkpoint serves it: ${(error as Error).message}`);
    }
  });
  await holdsAsync(`the checkpoint is not signed by the log's key ${key.name}+${hex(key.keyId)}`, () => verifyNoteSignature(note, key));
  const checkpoint = holds('the text the log signed as the checkpoint is not a checkpoint', () => parseCheckpoint(note.text));
  return { checkpoint, timestamp: latestCosignatureTime(note, key) };
}

/** verifier/verdict.ts's holds, for a check that awaits WebCrypto. */
async function holdsAsync<T>(failed: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    throw new Invalid(`${failed}: ${(error as Error).message}`);
  }
}

/** Throws Invalid naming each of the event's id, timestamp, user_id and event_type that is not the leaf's. */
function requireLeafFields(event: { id: string; timestamp: string; userId: string; eventType: string }, leaf: ReturnType<typeof decodeLeaf>): void {
  const differences = [
    ['id', event.id, leaf.id],
    ['timestamp', event.timestamp, new Date(leaf.timestampMs).toISOString()],
    ['user_id', event.userId, leaf.userId],
    ['event_type', event.eventType, leaf.eventType],
  ].filter(([, saved, logged]) => saved !== logged);
  if (differences.length > 0) {
    throw new Invalid(`the event is not the one in the proof's leaf: ${differences.map(([name, saved, logged]) => `its ${name} is ${JSON.stringify(saved)}, the leaf's ${JSON.stringify(logged)}`).join('; ')}. `
      + 'It was altered after it was logged, or the proof is another event\'s');
  }
}
