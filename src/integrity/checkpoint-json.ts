import type { Checkpoint } from './checkpoint.js';

/**
 * A checkpoint as it travels: the body of GET /integrity, and the file `npm run verify
 * --checkpoint` reads back. Its members and their order are the contract (openapi.yaml).
 */
export type CheckpointJson = {
  event_count: number;
  last_id: string | null;
  head_hash: string;
  created_at: string;
  signature: string;
};

export function checkpointToJson(checkpoint: Checkpoint): CheckpointJson {
  return {
    event_count: checkpoint.eventCount,
    last_id: checkpoint.lastId,
    head_hash: checkpoint.headHash,
    created_at: checkpoint.createdAt,
    signature: checkpoint.signature,
  };
}

/**
 * Reads a saved checkpoint, or throws an Error that says why `text` is not one. Only the shape is
 * checked here: whether its values are what the log's secret signed is verify's to say (an edited
 * checkpoint is evidence of tampering, not a file that could not be read).
 */
export function parseCheckpointJson(text: string): Checkpoint {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`it is not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('it is not a JSON object');
  const saved = value as Partial<Record<keyof CheckpointJson, unknown>>;
  const { event_count: eventCount, last_id: lastId, head_hash: headHash, created_at: createdAt, signature } = saved;
  if (typeof eventCount !== 'number') throw new Error('its event_count is not a number');
  if (lastId !== null && typeof lastId !== 'string') throw new Error('its last_id is neither a string nor null');
  for (const [name, member] of [['head_hash', headHash], ['created_at', createdAt], ['signature', signature]] as const) {
    if (typeof member !== 'string') throw new Error(`its ${name} is not a string`);
  }
  return { eventCount, lastId, headHash: headHash as string, createdAt: createdAt as string, signature: signature as string };
}
