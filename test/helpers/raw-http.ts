import { connect } from 'node:net';

/**
 * Sends `bytes` on a fresh connection and resolves with everything the server sent once it closes
 * the connection. `halfClose` ends our side after sending (as a client that has said everything);
 * without it the connection stays open, for a server that has to time us out.
 */
export function rawExchange(url: string, bytes: string, { halfClose = true } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => (halfClose ? socket.end(bytes) : socket.write(bytes)));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

export type RawResponse = { statusLine: string; headers: Record<string, string>; body: string };

/** Splits one HTTP/1.1 response (the first in `text`) into its status line, headers (lower-cased names) and body. */
export function parseRawResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`not an HTTP response: ${JSON.stringify(text)}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  }));
  const length = Number(headers['content-length']);
  return { statusLine: statusLine!, headers, body: text.slice(end + 4, end + 4 + length) };
}
