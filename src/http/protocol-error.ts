import { STATUS_CODES, type ServerResponse } from 'node:http';

/**
 * A request refused before it reached the app, because it broke HTTP/1.1 rather than our API: the
 * status, a code for the log line and the metric (Node's own, such as HPE_HEADER_OVERFLOW, or ours
 * in the same style), and a message that says what was wrong. It never quotes the request.
 */
export type ProtocolError = { status: number; code: string; message: string };

/** What a slow or oversized client may take before it is refused (see create-http-server.ts). */
export type ServerLimits = { headersTimeoutMs: number; requestTimeoutMs: number; maxHeaderBytes: number };

export const MISSING_HOST: ProtocolError = {
  status: 400,
  code: 'MISSING_HOST',
  message: 'An HTTP/1.1 request needs a Host header',
};

export const UNSUPPORTED_EXPECT: ProtocolError = {
  status: 417,
  code: 'UNSUPPORTED_EXPECT',
  message: 'The only Expect this service meets is 100-continue: send the request without that Expect header',
};

export const CONNECT_REFUSED: ProtocolError = {
  status: 400,
  code: 'CONNECT',
  message: 'CONNECT is not served: this service is not a proxy',
};

/**
 * What to answer to an error Node raised on a connection before or while reading a request (the
 * server's 'clientError'), or undefined when the error is the connection's own (ECONNRESET, EPIPE:
 * the client went away) and no request was refused.
 */
export function describeClientError(error: Error & { code?: unknown; reason?: unknown }, limits: ServerLimits): ProtocolError | undefined {
  const code = typeof error.code === 'string' ? error.code : '';
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT': // Node's code for both timeouts
      return {
        status: 408,
        code,
        message: `The request did not arrive in time: send the request line and headers within ${limits.headersTimeoutMs / 1000} s, and the whole request within ${limits.requestTimeoutMs / 1000} s`,
      };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code, message: `The request line and headers are larger than ${limits.maxHeaderBytes / 1024} KiB: send fewer or shorter headers` };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW': // 413 as Node answers it: it caps extensions at 16 KiB
      return { status: 413, code, message: 'The chunk extensions of the body are too large: send the body without chunk extensions' };
    case 'HPE_PAUSED_H2_UPGRADE': // the HTTP/2 connection preface, PRI * HTTP/2.0
      return { status: 400, code, message: 'HTTP/2 is not served here: send HTTP/1.1' };
    case 'HPE_INVALID_EOF_STATE':
      return { status: 400, code, message: 'The connection was closed before the request was complete' };
  }
  if (!code.startsWith('HPE_')) return undefined;
  // llhttp's reason is a fixed phrase ("Invalid header value char"), never the request's bytes.
  const reason = typeof error.reason === 'string' && error.reason !== '' ? ` (${error.reason})` : '';
  return { status: 400, code, message: `The request is not valid HTTP/1.1${reason}: check the request line, the headers and the framing of the body` };
}

/** The headers and body of a refusal. The connection closes after it: what follows cannot be trusted. */
function refusal({ status, message }: ProtocolError): { headers: Record<string, string | number>; body: string } {
  const body = JSON.stringify({ message });
  return {
    headers: {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      Connection: 'close',
    },
    body,
  };
}

/** The refusal as raw bytes, for a socket that has no ServerResponse (a parser error, CONNECT). */
export function rawProtocolError(error: ProtocolError): string {
  const { headers, body } = refusal(error);
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n${lines}\r\n${body}`;
}

/** The refusal through the ServerResponse Node made for a request it parsed (no Host, an Expect). */
export function sendProtocolError(response: ServerResponse, error: ProtocolError): void {
  const { headers, body } = refusal(error);
  response.writeHead(error.status, headers);
  response.end(body);
}
