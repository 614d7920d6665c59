import type { IncomingMessage } from 'node:http';

/** Handles one method on one path; throws HttpError for the client's mistakes, never writes. */
export type RouteHandler = (request: IncomingMessage, params: URLSearchParams) => Promise<Reply>;

/** What a route handler answers; app.ts turns it into the HTTP response. */
export type Reply = JsonReply | StreamReply;

export type JsonReply = {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
};

/** A body produced piece by piece, so the response starts before the last piece exists. */
export type StreamReply = {
  status: number;
  contentType: string;
  chunks: AsyncIterable<string>;
  headers?: Record<string, string>;
};
