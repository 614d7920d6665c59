import { createHmac } from 'node:crypto';

/** What the chain commits to for each event: everything the API returns, and the key that wrote it. */
export type ChainedFields = {
  id: string;
  timestampMs: number;
  userId: string;
  eventType: string;
  dataJson: string;
  /** Null for events recorded before key names were kept (schema version 3). */
  keyName: string | null;
};

/** The "previous hash" of the first chained event. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/**
 * The canonical form of an event: a JSON array of its fields, UTF-8. JSON quoting makes it
 * unambiguous (no field can run into the next) and `data` is its stored text, byte for byte. The
 * key name is the sixth element when there is one.
 */
export function canonicalEvent(event: ChainedFields): Buffer {
  const fields: Array<string | number> = [event.id, event.timestampMs, event.userId, event.eventType, event.dataJson];
  if (event.keyName !== null) fields.push(event.keyName);
  return Buffer.from(JSON.stringify(fields), 'utf8');
}

/**
 * hash = HMAC-SHA256(secret, previous hash ‖ canonical form of the event). Without the secret no
 * one can rebuild the chain after editing, removing or reordering events.
 */
export function chainHash(secret: Buffer, previous: Buffer, event: ChainedFields): Buffer {
  return createHmac('sha256', secret).update(previous).update(canonicalEvent(event)).digest();
}
