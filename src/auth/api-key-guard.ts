import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http/http-error.js';

/**
 * Returns a check that the request carries the configured key in `X-API-Key` (and nowhere else).
 * Both sides are hashed first so the comparison is constant-time and independent of length.
 */
export function createApiKeyGuard(apiKey: string): (request: IncomingMessage) => void {
  const expected = sha256(apiKey);
  return (request) => {
    // Node joins repeated X-API-Key headers with ", ", which then matches no key.
    const presented = request.headers['x-api-key'];
    if (presented === undefined || presented === '') {
      throw new HttpError(401, 'Missing X-API-Key header');
    }
    if (!timingSafeEqual(sha256(String(presented)), expected)) {
      throw new HttpError(401, 'Invalid API key');
    }
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
