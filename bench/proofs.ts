/**
 * The requests of the tree's read measurements: inclusion proofs of events spread over the whole
 * log, consistency proofs from a random size to the latest, and the latest checkpoint, all at the
 * size of the checkpoint the service signed when it started, so that no request signs one.
 */
import Database from '../src/store/sqlite/sqlite-driver.js';
import type { RunningServer } from './server-process.js';

/** Ids of `count` events evenly spread over seqs 1 to `size`, read from the SQLite file. */
export function spreadEventIds(dbPath: string, size: number, count: number): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const select = db.prepare('SELECT id FROM events WHERE seq = ?').pluck();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = select.get(1 + Math.floor((i * (size - 1)) / Math.max(1, count - 1))) as string | undefined;
      if (id !== undefined) ids.push(id);
    }
    // Shuffled, so that consecutive requests do not walk the tree in order (and share its pages).
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    return ids;
  } finally {
    db.close();
  }
}

/** The size of the latest checkpoint the service serves (the second line of its note). */
export async function latestCheckpointSize(server: RunningServer, apiKey: string): Promise<number> {
  const response = await fetch(`${server.url}/checkpoint`, { headers: { 'X-API-Key': apiKey } });
  const note = await response.text();
  const size = Number(note.split('\n')[1]);
  if (response.status !== 200 || !Number.isSafeInteger(size)) throw new Error(`GET /checkpoint answered ${response.status}: ${note.slice(0, 200)}`);
  return size;
}

/** The log's verifier key, as GET /checkpoint/key serves it. */
export async function verifierKey(server: RunningServer, apiKey: string): Promise<string> {
  const response = await fetch(`${server.url}/checkpoint/key`, { headers: { 'X-API-Key': apiKey } });
  const key = (await response.text()).trim();
  if (response.status !== 200) throw new Error(`GET /checkpoint/key answered ${response.status}: ${key.slice(0, 200)}`);
  return key;
}

/** The paths of the tree's read measurements over the tree of `size` leaves, by kind. */
export function treeReadPaths(ids: readonly string[], size: number): { byId: string[]; inclusion: string[]; consistency: string[]; checkpoint: string[] } {
  return {
    byId: ids.map((id) => `/events/${id}`),
    inclusion: ids.map((id) => `/events/${id}/proof?size=${size}`),
    consistency: ids.map(() => `/proofs/consistency?from=${1 + Math.floor(Math.random() * (size - 1))}&to=${size}`),
    checkpoint: ['/checkpoint'],
  };
}
