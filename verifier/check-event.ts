/**
 * The checks of npm run verify-event, without the command line: that a saved event is in the log,
 * as a signed checkpoint of the log's tree shows it. See README.md for what each step proves.
 */
import type { Checkpoint } from './checkpoint.js';
import { readSavedEvent, type SavedEvent } from './event-data.js';
import { dataCommitment, decodeLeaf, type LeafFields } from './leaf.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { PSEUDONYM_PREFIX } from './pseudonym.js';
import { readInclusionProof, type InclusionProof } from './proof-json.js';
import { openCheckpoint, readLogKey } from './signed-checkpoint.js';
import type { VerifierKey } from './signed-note.js';
import { holds, Invalid, readOr } from './verdict.js';

export type EventInputs = {
  /** The event as GET /events/{id} served it (pretty-printed or not). */
  event: string;
  /** GET /events/{id}/proof?size=N */
  proof: string;
  /** GET /checkpoint (or ?size=N): the signed note. */
  checkpoint: string;
  /** GET /checkpoint/key */
  key: string;
};

/**
 * Returns one line saying what was proved; throws Invalid naming the first check that failed, or
 * Unusable naming the input that could not be read.
 */
export function checkEvent(inputs: EventInputs): string {
  const key = readLogKey(inputs.key);
  const event = readOr('event', () => readSavedEvent(inputs.event));
  const proof = readOr('proof', () => readInclusionProof(inputs.proof));
  const checkpoint = openCheckpoint('checkpoint', 'the checkpoint', inputs.checkpoint, key);

  if (proof.treeSize !== checkpoint.size) {
    throw new Invalid(`the proof is for the tree of ${proof.treeSize} events, the checkpoint for the tree of ${checkpoint.size}: ask for the proof at the checkpoint's size (GET /events/${event.id}/proof?size=${checkpoint.size})`);
  }
  if (event.removed !== undefined) return checkRemovedEvent(event, event.removed, proof, checkpoint, key);
  if (proof.leaf === null || proof.dataSalt === null) {
    throw new Invalid('the proof is of an event whose payload was removed, and the event still has its data: they are not the same event as the log holds it now');
  }
  const leaf = holds('the proof\'s leaf is not an event\'s leaf', () => decodeLeaf(proof.leaf!));
  requireLeafFields(event, leaf);
  if (!dataCommitment(proof.dataSalt, event.dataText).equals(leaf.dataSha256)) {
    throw new Invalid('the event\'s data is not the data the leaf commits to: SHA-256(data_salt ‖ data) differs (the data was changed, or the salt is not this event\'s)');
  }
  holds('the leaf is not in the checkpoint\'s tree', () => verifyInclusion(proof.leafIndex, proof.treeSize, leafHash(proof.leaf!), proof.path, checkpoint.rootHash));

  const writer = leaf.keyName === null ? '' : `, written with the key "${leaf.keyName}"`;
  return `VALID: event ${event.id} is leaf ${proof.leafIndex} of the tree of ${checkpoint.size} events of the log ${checkpoint.origin}, ` +
    `whose checkpoint is signed by ${key.name}+${key.keyId.toString('hex')}; its id, timestamp, user_id, event_type and data are as logged${writer}.`;
}

/**
 * An event whose payload was removed, on the record: an expired one (or one erased by a field of
 * data) still has a leaf made of its fields and the commitment of the data that was there, so its
 * id, timestamp, user_id and event_type are checked as ever, and only the data cannot be; an event
 * erased with its user has only its leaf's hash left, whose place in the tree is all that can be
 * proven. Either way the record that removed it is named, to be read in the log like any event.
 */
function checkRemovedEvent(event: SavedEvent, removed: NonNullable<SavedEvent['removed']>, proof: InclusionProof, checkpoint: Checkpoint, key: VerifierKey): string {
  if (event.dataText !== 'null') throw new Invalid('the event says its payload was removed, yet it has data');
  if (proof.dataSalt !== null) throw new Invalid('the event says its payload was removed, but the log\'s proof still has the salt of its data: it was not removed');
  if (proof.removed !== undefined && (['reason', 'at', 'by'] as const).some((name) => proof.removed![name] !== removed[name])) {
    throw new Invalid(`the event and the log's proof tell different removals: the event ${JSON.stringify(removed)}, the proof ${JSON.stringify(proof.removed)}`);
  }
  const where = `leaf ${proof.leafIndex} of the tree of ${checkpoint.size} events of the log ${checkpoint.origin}, whose checkpoint is signed by ${key.name}+${key.keyId.toString('hex')}`;
  const why = `its payload was removed by ${removed.reason === 'erasure' ? 'an erasure' : 'retention'} at ${removed.at}, as the log's event ${removed.by} records`;
  // This check has the event and its proof, not the record: whether the record allowed the removal
  // is npm run verify's to say, or verify-event's on the record itself.
  const record = ` The record itself is not checked here: verify the event ${removed.by} too, or run npm run verify on the database.`;
  if (proof.leaf === null) {
    if (removed.reason !== 'erasure') throw new Invalid('the log served no leaf for an event expired by retention, which keeps it: the leaf cannot be checked');
    // Only an erasure of the user drops the leaf, and it always leaves the pseudonym.
    if (!event.userId.startsWith(PSEUDONYM_PREFIX)) throw new Invalid(`the log served no leaf, as for an event erased with its user, but the event's user_id ${JSON.stringify(event.userId)} is not a pseudonym (${PSEUDONYM_PREFIX}…)`);
    holds('the leaf\'s hash is not in the checkpoint\'s tree', () => verifyInclusion(proof.leafIndex, proof.treeSize, proof.leafHash!, proof.path, checkpoint.rootHash));
    return `VALID (erased): event ${event.id} is ${where}; ${why}, with its user, so only its leaf's place in the tree is proven: its other fields can no longer be checked against it.${record}`;
  }
  const leaf = holds('the proof\'s leaf is not an event\'s leaf', () => decodeLeaf(proof.leaf!));
  requireLeafFields(event, leaf);
  holds('the leaf is not in the checkpoint\'s tree', () => verifyInclusion(proof.leafIndex, proof.treeSize, leafHash(proof.leaf!), proof.path, checkpoint.rootHash));
  const state = removed.reason === 'erasure' ? 'erased' : 'expired';
  return `VALID (${state}): event ${event.id} is ${where}; its id, timestamp, user_id and event_type are as logged; ${why}, and the leaf's commitment to it can no longer be opened.${record}`;
}

/** Throws Invalid naming each of the event's id, timestamp, user_id and event_type that is not the leaf's. */
function requireLeafFields(event: SavedEvent, leaf: LeafFields): void {
  const differences = [
    ['id', event.id, leaf.id],
    ['timestamp', event.timestamp, new Date(leaf.timestampMs).toISOString()],
    ['user_id', event.userId, leaf.userId],
    ['event_type', event.eventType, leaf.eventType],
  ].filter(([, saved, logged]) => saved !== logged);
  if (differences.length > 0) {
    throw new Invalid(`the event is not the one in the proof's leaf: ${differences.map(([name, saved, logged]) => `its ${name} is ${JSON.stringify(saved)}, the leaf's ${JSON.stringify(logged)}`).join('; ')}`);
  }
}
