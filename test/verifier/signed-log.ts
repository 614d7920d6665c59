/**
 * A log held in memory, built with the service's own tree code (src/integrity/merkle-tree.ts) and
 * the verifier's leaf, note and checkpoint code, and served in exactly the wire formats of the
 * service: what the verifier tests check, with no database and no service running.
 */
import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { appendLeaf, EMPTY_FRONTIER, proveConsistency, proveInclusion, rootHash, storedWith, type Frontier, type SubtreeReader } from '../../src/integrity/merkle-tree.js';
import { formatCheckpoint } from '../../verifier/checkpoint.js';
import { rawPublicKey } from '../../verifier/ed25519.js';
import { dataCommitment, encodeLeaf } from '../../verifier/leaf.js';
import { leafHash } from '../../verifier/merkle.js';
import { ED25519, formatVerifierKey, signNote } from '../../verifier/signed-note.js';

/** A tree of leaf byte strings, storing every complete subtree's hash as a backend does. */
export class InMemoryTree {
  #frontier: Frontier = EMPTY_FRONTIER;
  readonly #stored = new Map<string, Buffer>();

  get size(): number {
    return this.#frontier.size;
  }

  append(leaf: Uint8Array): void {
    const index = this.#frontier.size;
    const hash = leafHash(leaf);
    const { frontier, completed } = appendLeaf(this.#frontier, hash);
    [hash, ...completed].forEach((stored, level) => this.#stored.set(`${index}:${level}`, stored));
    this.#frontier = frontier;
  }

  readonly read: SubtreeReader = async (subtrees) => subtrees.map((subtree) => {
    const { leafIndex, level } = storedWith(subtree);
    const hash = this.#stored.get(`${leafIndex}:${level}`);
    if (hash === undefined) throw new Error(`no stored subtree at level ${subtree.level}, index ${subtree.index}`);
    return hash;
  });

  root(size = this.size): Promise<Buffer> {
    return rootHash(size, this.read);
  }
}

export type LoggedEvent = { id: string; timestampMs: number; userId: string; eventType: string; keyName: string | null; dataText: string; salt: Buffer; leaf: Buffer };

/** An Ed25519 log key: its private half, raw public key and verifier key text. */
export type LogKey = { origin: string; privateKey: KeyObject; publicKey: Buffer; verifierKey: string };

export function createLogKey(origin: string): LogKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = rawPublicKey(privateKey);
  return { origin, privateKey, publicKey, verifierKey: formatVerifierKey(origin, ED25519, publicKey) };
}

export class SignedLog {
  readonly tree = new InMemoryTree();
  readonly events: LoggedEvent[] = [];

  constructor(readonly key: LogKey) {}

  append(fields: { userId?: string; eventType?: string; keyName?: string | null; dataText?: string; timestampMs?: number } = {}): LoggedEvent {
    const event = {
      id: randomUUID(),
      timestampMs: fields.timestampMs ?? Date.UTC(2025, 0, 1) + this.events.length * 1000,
      userId: fields.userId ?? `user-${this.events.length}`,
      eventType: fields.eventType ?? 'login',
      keyName: fields.keyName === undefined ? 'billing' : fields.keyName,
      dataText: fields.dataText ?? `{"n":${this.events.length}}`,
      salt: randomBytes(16),
    };
    const leaf = encodeLeaf({ ...event, dataSha256: dataCommitment(event.salt, event.dataText) });
    this.tree.append(leaf);
    const logged = { ...event, leaf };
    this.events.push(logged);
    return logged;
  }

  /** GET /checkpoint?size=N: the signed note. */
  async checkpoint(size = this.tree.size, key = this.key): Promise<string> {
    const text = formatCheckpoint(this.key.origin, size, await this.tree.root(size));
    return `${text}\n${signNote(text, key.origin, key.privateKey, key.publicKey)}`;
  }

  /** GET /events/{id}: the event as the service encodes it. */
  eventJson(index: number): string {
    const e = this.events[index]!;
    return `{"id":"${e.id}","timestamp":"${new Date(e.timestampMs).toISOString()}","user_id":${JSON.stringify(e.userId)},` +
      `"event_type":${JSON.stringify(e.eventType)},"data":${e.dataText}}`;
  }

  /** GET /events/{id}/proof?size=N */
  async inclusionProof(index: number, size = this.tree.size): Promise<{ leaf_index: number; tree_size: number; leaf: string; data_salt: string; inclusion_path: string[] }> {
    const e = this.events[index]!;
    const path = await proveInclusion(index, size, this.tree.read);
    return { leaf_index: index, tree_size: size, leaf: e.leaf.toString('base64'), data_salt: e.salt.toString('base64'), inclusion_path: path.map(base64) };
  }

  /** GET /proofs/consistency?from=M&to=N */
  async consistencyProof(from: number, to: number): Promise<{ from: number; to: number; consistency_path: string[] }> {
    return { from, to, consistency_path: (await proveConsistency(from, to, this.tree.read)).map(base64) };
  }
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
