/**
 * One round of a witness (c2sp.org/tlog-witness, polled): read the log's latest checkpoint, check
 * its signature, check that it extends the last one this witness saw (a consistency proof), keep
 * it, and cosign it. A witness never signs a tree it cannot show to extend the one before, so a
 * log that rewrites history after a witness has seen it can never get that witness to agree.
 */
import { parseCheckpoint, type Checkpoint } from '../../verifier/checkpoint.js';
import { verifyConsistency } from '../../verifier/merkle.js';
import { parseNote, parseVerifierKey, strictBase64, verifyCosignature, verifyNoteSignature, type Note, type VerifierKey } from '../../verifier/signed-note.js';
import type { WitnessKey } from './witness-key.js';
import { readWitnessState, writeWitnessState, type WitnessState } from './witness-state.js';

/** The log showed something no honest log shows (a fork, a rollback, a bad signature): stop and tell someone. */
export class WitnessAlarm extends Error {
  override name = 'WitnessAlarm';
}

/** This round could not check the log (network, a 5xx, a refusal): try again next round. */
export class WitnessUnable extends Error {
  override name = 'WitnessUnable';
}

export type WitnessSetup = {
  url: string;
  /** The log's verifier key (algorithm 1); its name is the log's origin. */
  logKey: VerifierKey;
  apiKey: string;
  statePath: string;
  key: WitnessKey;
  /** Milliseconds since 1970, as Date.now. */
  now(): number;
};

export type RoundReport = {
  checkpoint: Checkpoint;
  /** How the checkpoint relates to the one seen before. */
  seen: { kind: 'first' } | { kind: 'unchanged' } | { kind: 'grew'; from: number };
  /** What the log answered to this round's cosignature, or 'already' when it served one by this witness. */
  cosignature: { kind: 'already' } | { kind: 'accepted'; by: string[] };
};

export async function witnessRound(setup: WitnessSetup): Promise<RoundReport> {
  const { logKey, key } = setup;
  let before: WitnessState | undefined;
  try {
    before = readWitnessState(setup.statePath, logKey);
  } catch (error) {
    throw new WitnessUnable((error as Error).message);
  }
  const served = await request(setup, 'GET', '/checkpoint');
  const { note, checkpoint } = checkSigned(served, logKey);

  let seen: RoundReport['seen'];
  if (before === undefined) {
    seen = { kind: 'first' };
  } else {
    const old = `size ${before.size} (root ${before.rootHash.toString('base64')}, seen ${before.seenAt})`;
    const now = `size ${checkpoint.size} (root ${checkpoint.rootHash.toString('base64')})`;
    if (checkpoint.origin !== before.origin) throw new WitnessAlarm(`the log's origin is now "${checkpoint.origin}", not "${before.origin}"`);
    if (checkpoint.size < before.size) throw new WitnessAlarm(`ROLLBACK: the log now serves ${now}, smaller than the ${old} this witness saw`);
    if (checkpoint.size === before.size) {
      if (!checkpoint.rootHash.equals(before.rootHash)) throw new WitnessAlarm(`FORK: the log now serves ${now}, but this witness saw ${old}`);
      seen = { kind: 'unchanged' };
    } else {
      const path = await consistencyProof(setup, before.size, checkpoint.size);
      try {
        verifyConsistency(before.size, checkpoint.size, before.rootHash, checkpoint.rootHash, path);
      } catch (error) {
        throw new WitnessAlarm(`FORK: the log's ${now} does not extend the ${old} this witness saw: ${(error as Error).message}`);
      }
      seen = { kind: 'grew', from: before.size };
    }
  }
  if (seen.kind !== 'unchanged') {
    const state = { origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash, note: served, seenAt: new Date(setup.now()).toISOString() };
    writeWitnessState(setup.statePath, state);
  }

  if (cosignedBy(note, key)) return { checkpoint, seen, cosignature: { kind: 'already' } };
  const line = key.cosign(note.text, BigInt(Math.floor(setup.now() / 1000)));
  const answer = await request(setup, 'POST', '/checkpoint/cosignatures', served + line);
  const accepted = acceptedBy(answer, checkpoint.size);
  if (!accepted.includes(key.name)) throw new WitnessUnable(`the log answered without ${key.name} among the witnesses it accepted (${accepted.join(', ') || 'none'})`);
  return { checkpoint, seen, cosignature: { kind: 'accepted', by: accepted } };
}

function checkSigned(served: string, logKey: VerifierKey): { note: Note; checkpoint: Checkpoint } {
  try {
    const note = parseNote(served);
    verifyNoteSignature(note, logKey);
    const checkpoint = parseCheckpoint(note.text);
    if (checkpoint.origin !== logKey.name) throw new Error(`its origin "${checkpoint.origin}" is not the name of the log's key, "${logKey.name}"`);
    return { note, checkpoint };
  } catch (error) {
    throw new WitnessAlarm(`the log's checkpoint is refused: ${(error as Error).message}`);
  }
}

/** Whether the log already serves a cosignature of this checkpoint by this witness. */
function cosignedBy(note: Note, key: WitnessKey): boolean {
  const verifier = parseVerifierKey(key.verifierKey);
  return note.signatures.some((signature) => {
    try {
      verifyCosignature(note.text, signature, verifier);
      return true;
    } catch {
      return false;
    }
  });
}

async function consistencyProof(setup: WitnessSetup, from: number, to: number): Promise<Buffer[]> {
  const body = await request(setup, 'GET', `/proofs/consistency?from=${from}&to=${to}`);
  let proof: unknown;
  try {
    proof = JSON.parse(body);
  } catch {
    throw new WitnessUnable(`the consistency proof from ${from} to ${to} is not JSON`);
  }
  const { from: f, to: t, consistency_path: path } = (proof ?? {}) as Record<string, unknown>;
  const hashes = Array.isArray(path) ? path.map((hash) => (typeof hash === 'string' ? strictBase64(hash) : undefined)) : undefined;
  if (f !== from || t !== to || hashes === undefined || hashes.some((hash) => hash === undefined)) {
    throw new WitnessUnable(`the consistency proof from ${from} to ${to} is not {"from": ${from}, "to": ${to}, "consistency_path": [base64 hashes]}`);
  }
  return hashes as Buffer[];
}

function acceptedBy(answer: string, size: number): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    parsed = undefined;
  }
  const { tree_size: treeSize, accepted } = (parsed ?? {}) as Record<string, unknown>;
  if (treeSize !== size || !Array.isArray(accepted) || !accepted.every((name) => typeof name === 'string')) {
    throw new WitnessUnable(`the log's answer to the cosignature is not {"tree_size": ${size}, "accepted": [names]}`);
  }
  return accepted as string[];
}

/** The body of a 200 from the log, or a WitnessUnable saying what went wrong. */
async function request(setup: WitnessSetup, method: 'GET' | 'POST', path: string, body?: string): Promise<string> {
  // Relative to the log's URL, so that a log served under a path prefix keeps it.
  const url = new URL(path.slice(1), setup.url.endsWith('/') ? setup.url : `${setup.url}/`);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method,
      headers: { 'x-api-key': setup.apiKey, ...(body === undefined ? {} : { 'content-type': 'text/plain; charset=utf-8' }) },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(30_000),
    });
    text = await response.text();
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause;
    throw new WitnessUnable(`${method} ${url.pathname} failed: ${cause?.message ?? (error as Error).message}`);
  }
  if (response.status !== 200) {
    let message = text.slice(0, 200);
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof (parsed as { message?: unknown }).message === 'string') message = (parsed as { message: string }).message;
    } catch {
      // not the service's JSON error: say what came back as it is
    }
    throw new WitnessUnable(`${method} ${url.pathname} answered ${response.status}${message === '' ? '' : `: ${message}`}`);
  }
  return text;
}
