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
 * The link of an event written before links were taken over leaves (see chainHashOverLeaf):
 * hash = HMAC-SHA256(secret, previous hash ‖ canonical form of the event). Without the secret no
 * one can rebuild the chain after editing, removing or reordering events.
 */
export function chainHash(secret: Buffer, previous: Buffer, event: ChainedFields): Buffer {
  return createHmac('sha256', secret).update(previous).update(canonicalEvent(event)).digest();
}

/** What sets a link over a leaf apart from a link over a canonical form (which opens with '['). */
export const LEAF_LINK_TAG = 0x02;
const LEAF_LINK_TAG_BYTES = Uint8Array.of(LEAF_LINK_TAG);

/**
 * The link of every event written since schema version 10 (SQLite; 9 on PostgreSQL):
 * hash = HMAC-SHA256(secret, previous hash ‖ 0x02 ‖ the event's leaf hash). The leaf commits to
 * every field chainHash did, but to the data only through its salted commitment: once an event's
 * payload is removed and its salt goes, whoever holds the secret can no longer test a guess of
 * what the data was against the link (docs/design.md, "Retention and erasure on the record").
 */
export function chainHashOverLeaf(secret: Buffer, previous: Uint8Array, leafHash: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(previous).update(LEAF_LINK_TAG_BYTES).update(leafHash).digest();
}
