import type { StreamReply } from './route.js';

/** A plain-text answer, sent exactly as given (a signed note must reach the client byte for byte). */
export function textReply(text: string): StreamReply {
  return {
    status: 200,
    contentType: 'text/plain; charset=utf-8',
    chunks: (async function* () {
      yield text;
    })(),
    headers: { 'Content-Length': String(Buffer.byteLength(text)) },
  };
}
