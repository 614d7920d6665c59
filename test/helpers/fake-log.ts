/**
 * A tiny log for testing the witness against: node:http serving GET /checkpoint,
 * GET /proofs/consistency and POST /checkpoint/cosignatures over an in-memory tree of leaf
 * hashes, with the service's wire formats. A test sets the tree (an honest extension, a rollback,
 * a fork) and the key that signs its checkpoints, and reads back what the witness posted.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { acceptCosignatures, CosignatureRefusal, cosignedTreeSize } from '../../src/integrity/accept-cosignatures.js';
import { proveConsistency, type Subtree, type SubtreeReader } from '../../src/integrity/merkle-tree.js';
import { formatCheckpoint } from '../../verifier/checkpoint.js';
import { rawPublicKey } from '../../verifier/ed25519.js';
import { leafHash, nodeHash } from '../../verifier/merkle.js';
import { ED25519, formatVerifierKey, signNote, type VerifierKey } from '../../verifier/signed-note.js';

export const FAKE_LOG_API_KEY = 'witness-test-admin-key-0123456789';

export type LogSigner = { name: string; privateKey: KeyObject; publicKey: Buffer; verifierKey: string };

export function logSigner(name: string): LogSigner {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = rawPublicKey(privateKey);
  return { name, privateKey, publicKey, verifierKey: formatVerifierKey(name, ED25519, publicKey) };
}

/** `count` leaf hashes, the i-th made from `${label}${i}`: two labels give two histories. */
export function leaves(count: number, label = 'event'): Buffer[] {
  return Array.from({ length: count }, (_, i) => leafHash(Buffer.from(`${label}${i}`)));
}

export type FakeLog = {
  url: string;
  signer: LogSigner;
  /** Serves the tree of these leaf hashes from now on, its checkpoints signed by `signer` (the log's own key unless told). */
  serve(tree: Buffer[], signer?: LogSigner): void;
  /** The checkpoint text served now. */
  text(): string;
  /** The bodies POST /checkpoint/cosignatures received, in order. */
  posted: string[];
  /** Answer every request with this status instead (a 5xx), or undefined to answer as a log does. */
  failWith: number | undefined;
  close(): Promise<void>;
};

/** Starts a fake log whose POST /checkpoint/cosignatures keeps the lines of `witnesses`, as the service does. */
export async function startFakeLog(origin: string, witnesses: () => VerifierKey[]): Promise<FakeLog> {
  const signer = logSigner(origin);
  let tree: Buffer[] = [];
  let signedBy = signer;
  const cosignatures = new Map<string, string[]>();
  const posted: string[] = [];
  const text = (): string => formatCheckpoint(origin, tree.length, treeHash(tree));

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => reply(res, 500, { message: String(error) }));
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (log.failWith !== undefined) return reply(res, log.failWith, { message: 'the log is unwell' });
    if (req.headers['x-api-key'] !== FAKE_LOG_API_KEY) return reply(res, 401, { message: 'unknown API key' });
    const url = new URL(req.url ?? '/', 'http://log');
    if (req.method === 'GET' && url.pathname === '/checkpoint') {
      const body = `${text()}\n${signNote(text(), signedBy.name, signedBy.privateKey, signedBy.publicKey)}${(cosignatures.get(text()) ?? []).join('')}`;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/proofs/consistency') {
      const from = Number(url.searchParams.get('from'));
      const to = Number(url.searchParams.get('to'));
      if (!(from >= 0 && from <= to && to <= tree.length)) return reply(res, 400, { message: `sizes from 0 to ${tree.length}` });
      const path = await proveConsistency(from, to, reader(tree));
      return reply(res, 200, { from, to, consistency_path: path.map((hash) => hash.toString('base64')) });
    }
    if (req.method === 'POST' && url.pathname === '/checkpoint/cosignatures') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      posted.push(body);
      try {
        const size = cosignedTreeSize(body);
        const signed = size === tree.length ? text() : undefined;
        const accepted = acceptCosignatures(body, signed, witnesses(), Date.now());
        cosignatures.set(text(), accepted.map((a) => a.line));
        return reply(res, 200, { tree_size: size, accepted: accepted.map((a) => a.witness) });
      } catch (error) {
        if (error instanceof CosignatureRefusal) return reply(res, error.status, { message: error.message });
        throw error;
      }
    }
    reply(res, 404, { message: 'no such route' });
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const log: FakeLog = {
    url: `http://127.0.0.1:${port}`,
    signer,
    serve(next, by = signer) {
      tree = next;
      signedBy = by;
    },
    text,
    posted,
    failWith: undefined,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return log;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Reads complete subtrees' hashes by hashing their leaves: slow, and plainly right. */
function reader(tree: Buffer[]): SubtreeReader {
  return async (subtrees) => subtrees.map(({ level, index }: Subtree) => treeHash(tree.slice(index * 2 ** level, (index + 1) * 2 ** level)));
}

/** RFC 9162 §2.1.1's MTH, as the RFC defines it: the left part is the largest power of two below n. */
function treeHash(tree: Buffer[]): Buffer {
  if (tree.length === 0) return createHash('sha256').digest();
  if (tree.length === 1) return tree[0]!;
  let k = 1;
  while (k * 2 < tree.length) k *= 2;
  return nodeHash(treeHash(tree.slice(0, k)), treeHash(tree.slice(k)));
}
