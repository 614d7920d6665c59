import type { WholeReply } from './route.js';

/**
 * A plain-text answer, sent exactly as given (a signed note must reach the client byte for byte;
 * a compressed one is those bytes once the client has decoded it).
 */
export function textReply(text: string): WholeReply {
  return { status: 200, contentType: 'text/plain; charset=utf-8', text };
}
