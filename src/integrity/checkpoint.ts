import { createHmac, timingSafeEqual } from 'node:crypto';

/** The head of the chain at one moment: how many chained events, the last one, its hash. */
export type ChainHead = { eventCount: number; lastId: string | null; headHash: string };

export type Checkpoint = ChainHead & { createdAt: string; signature: string };

/** Signs a chain head so a saved copy can later prove what the log held then. */
export function signCheckpoint(secret: Buffer, head: ChainHead, createdAt = new Date().toISOString()): Checkpoint {
  return { ...head, createdAt, signature: checkpointSignature(secret, head, createdAt) };
}

export function hasValidSignature(secret: Buffer, checkpoint: Checkpoint): boolean {
  const expected = Buffer.from(checkpointSignature(secret, checkpoint, checkpoint.createdAt), 'hex');
  const given = Buffer.from(String(checkpoint.signature), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function checkpointSignature(secret: Buffer, head: ChainHead, createdAt: string): string {
  const signed = JSON.stringify(['auditor-checkpoint-v1', head.eventCount, head.lastId, head.headHash, createdAt]);
  return createHmac('sha256', secret).update(signed).digest('hex');
}
