/**
 * The checks of npm run verify-event, without the command line: that a saved event is in the log,
 * as a signed checkpoint of the log's tree shows it. See README.md for what each step proves.
 */
import { readSavedEvent } from './event-data.js';
import { dataCommitment, decodeLeaf } from './leaf.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { readInclusionProof } from './proof-json.js';
import { openCheckpoint, readLogKey } from './signed-checkpoint.js';
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
  const leaf = holds('the proof\'s leaf is not an event\'s leaf', () => decodeLeaf(proof.leaf));
  const differences = [
    ['id', event.id, leaf.id],
    ['timestamp', event.timestamp, new Date(leaf.timestampMs).toISOString()],
    ['user_id', event.userId, leaf.userId],
    ['event_type', event.eventType, leaf.eventType],
  ].filter(([, saved, logged]) => saved !== logged);
  if (differences.length > 0) {
    throw new Invalid(`the event is not the one in the proof's leaf: ${differences.map(([name, saved, logged]) => `its ${name} is ${JSON.stringify(saved)}, the leaf's ${JSON.stringify(logged)}`).join('; ')}`);
  }
  if (!dataCommitment(proof.dataSalt, event.dataText).equals(leaf.dataSha256)) {
    throw new Invalid('the event\'s data is not the data the leaf commits to: SHA-256(data_salt ‖ data) differs (the data was changed, or the salt is not this event\'s)');
  }
  holds('the leaf is not in the checkpoint\'s tree', () => verifyInclusion(proof.leafIndex, proof.treeSize, leafHash(proof.leaf), proof.path, checkpoint.rootHash));

  const writer = leaf.keyName === null ? '' : `, written with the key "${leaf.keyName}"`;
  return `VALID: event ${event.id} is leaf ${proof.leafIndex} of the tree of ${checkpoint.size} events of the log ${checkpoint.origin}, ` +
    `whose checkpoint is signed by ${key.name}+${key.keyId.toString('hex')}; its id, timestamp, user_id, event_type and data are as logged${writer}.`;
}
