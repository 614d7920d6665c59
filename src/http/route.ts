import type { IncomingMessage } from 'node:http';
import type { Caller } from '../auth/key-registry.js';
import type { MemoryBudget } from './memory-budget.js';

/** What a request body may be: its largest size, and the memory all bodies in flight share. */
export type BodyLimits = { maxBytes: number; memory: MemoryBudget };

export type RouteContext = {
  params: URLSearchParams;
  /** The last segment of a path like /events/{id}. */
  pathId: string;
  /** The authenticated key; undefined only on the public probes (/healthz, /readyz). */
  caller: Caller | undefined;
};

/** Handles one method on one path; throws HttpError for the client's mistakes, never writes. */
export type RouteHandler = (request: IncomingMessage, context: RouteContext) => Promise<Reply>;

/** What a route handler answers; app.ts turns it into the HTTP response. */
export type Reply = JsonReply | StreamReply;

export type JsonReply = {
  status: number;
  /** A value to serialise, or RawJson already serialised. */
  body: unknown;
  headers?: Record<string, string>;
};

/** JSON text sent as it is: events carry `data` exactly as stored, which a re-serialisation would alter. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** A body produced piece by piece, so the response starts before the last piece exists. */
export type StreamReply = {
  status: number;
  contentType: string;
  /** Text, or UTF-8 bytes. */
  chunks: AsyncIterable<string | Uint8Array>;
  headers?: Record<string, string>;
};
