/**
 * A worker thread of `npm run verify`: reads the rows of each chunk it is given on a connection of
 * its own, checks them (checkChunk) and posts the result back. Reading here rather than in the
 * main thread keeps the rows' decoding off the one thread every chunk passes through.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseVerifierKey } from '../../verifier/signed-note.js';
import type { DatabaseLocation } from '../config.js';
import { openTreeRows } from '../store/tree-rows.js';
import { settleClaims } from './removal-claims.js';
import { checkChunk, MAX_CHUNK_FINDINGS, type ChunkRange, type ChunkResult } from './tree-chunk.js';
import { addFinding } from './tree-finding.js';

export type WorkerSetup = {
  database: DatabaseLocation;
  /** The log's verifier key, as text. */
  key: string;
  secret: Uint8Array | undefined;
  chainRequiredAfter: number | undefined;
  chainOverLeavesFrom: number | undefined;
};

export type ChunkRequest = ChunkRange & { index: number };
/** Sent when the tree is checked: the worker closes its connection and exits on its own. */
export type CloseRequest = 'close';
export type ChunkReply = { index: number; result: ChunkResult } | { index: number; error: string };

const setup = workerData as WorkerSetup;
const key = parseVerifierKey(setup.key);
const secret = setup.secret === undefined ? undefined : Buffer.from(setup.secret);
const rows = await openTreeRows(setup.database);
const port = parentPort!;

port.on('message', (request: ChunkRequest | CloseRequest) => {
  if (request === 'close') void rows.close().finally(() => port.close());
  else void check(request).then((reply) => port.postMessage(reply));
});

async function check(request: ChunkRequest): Promise<ChunkReply> {
  try {
    const result = checkChunk(request, await rows.range(request.from, request.to), { key, secret, chainRequiredAfter: setup.chainRequiredAfter, chainOverLeavesFrom: setup.chainOverLeavesFrom });
    await settleClaims(result, (ids) => rows.removalRecords(ids), (finding) => {
      if (result.findings.length < MAX_CHUNK_FINDINGS) addFinding(result.findings, finding);
      else result.findingsLeft++;
    });
    if (result.empty) result.nextSeq = await rows.nextSeqAfter(request.to);
    return { index: request.index, result };
  } catch (error) {
    return { index: request.index, error: (error as Error).message };
  }
}
port.postMessage('ready');
