import type { IncomingMessage } from 'node:http';
import type { Caller } from '../auth/key-registry.js';
import type { Scope } from '../auth/keys-file.js';
import type { MemoryBudget } from './memory-budget.js';

/** What a request body may be: its largest size, and the memory all bodies in flight share. */
export type BodyLimits = { maxBytes: number; memory: MemoryBudget };

export type RouteContext = {
  /** The query string's parameters. */
  params: URLSearchParams;
  /** The path's parameters, by the names the route's pattern gives them (`/events/{id}`: `id`), decoded. */
  pathParams: Readonly<Record<string, string>>;
  /** The authenticated key; undefined only on the public routes (/healthz, /readyz). */
  caller: Caller | undefined;
};

/** Handles one method on one path; throws HttpError for the client's mistakes, never writes. */
export type RouteHandler = (request: IncomingMessage, context: RouteContext) => Promise<Reply>;

/** Who may call a route: a key of this scope (or admin), any known key, or anyone. */
export type Access = Scope | 'any' | 'public';

/**
 * What a route asks of the store, which decides what its 503 says when the store fails: a read
 * that could not be served, or an event (`append`) or a batch (`append-all`) not recorded, or
 * perhaps recorded when the database did not confirm its commit, or something else not kept
 * (`keep`: a witness's cosignature).
 */
export type StoreUse = 'read' | 'append' | 'append-all' | 'keep';

export type Route = { scope: Access; store?: StoreUse; handle: RouteHandler };

/**
 * The whole surface of an app: per path pattern, per method, its route. A pattern is a path whose
 * segments are literal or a parameter (`/events/{id}`); the router derives everything else from it.
 */
export type RouteTable = Readonly<Record<string, Readonly<Partial<Record<string, Route>>>>>;

/** What a route handler answers; the router (router.ts) turns it into the HTTP response. */
export type Reply = JsonReply | WholeReply | StreamReply;

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

/** A body of any content type, known whole before it is sent: it leaves in one write, with its length. */
export type WholeReply = {
  status: number;
  contentType: string;
  text: string;
  headers?: Record<string, string>;
};

/** A body produced piece by piece, so the response starts before the last piece exists. */
export type StreamReply = {
  status: number;
  contentType: string;
  /** Text, or UTF-8 bytes. */
  chunks: AsyncIterable<string | Uint8Array>;
  headers?: Record<string, string>;
  /** False: never compressed (a live stream, whose every piece must leave as soon as it is written). */
  compress?: false;
  /** Written last to a client that stopped reading, before its connection is cut (a live stream's parting message). */
  farewell?: string;
  /** Told when the client was cut off for not reading. */
  onCut?: () => void;
};
