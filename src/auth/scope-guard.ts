import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http/http-error.js';
import type { Caller, KeyRegistry } from './key-registry.js';
import type { Scope } from './keys-file.js';
import type { RateLimiter } from './rate-limiter.js';

export type GuardLimits = {
  /** Requests per key; none means unlimited. */
  perKey?: RateLimiter | undefined;
  /** Failed authentications per client address; none means unlimited. */
  failedAuth?: RateLimiter | undefined;
};

/**
 * Returns a check that the request carries a known key in `X-API-Key` (and nowhere else) whose
 * scope allows `needed` ('any' takes every known key): an unknown or missing key is 401, a known
 * key of the wrong scope is 403.
 * An address that failed too often is answered 429 before its key is even looked at, so guessing
 * keys is slow; a key over its own rate is answered 429 too. Both say when to retry.
 */
export function createScopeGuard(registry: KeyRegistry, limits: GuardLimits = {}): (request: IncomingMessage, needed: Scope | 'any') => Caller {
  const { perKey, failedAuth } = limits;
  const tooMany = (seconds: number, what: string): HttpError =>
    new HttpError(429, `Too many ${what}; retry in ${seconds} s`, { 'Retry-After': String(seconds) });

  return (request, needed) => {
    const address = request.socket.remoteAddress ?? 'unknown';
    const wait = failedAuth?.wait(address) ?? 0;
    if (wait > 0) throw tooMany(wait, 'failed authentications from this address');

    // Node joins repeated X-API-Key headers with ", ", which then matches no key.
    const presented = request.headers['x-api-key'];
    const caller = presented === undefined || presented === '' ? undefined : registry.find(String(presented));
    if (caller === undefined) {
      failedAuth?.take(address);
      throw new HttpError(401, presented === undefined || presented === '' ? 'Missing X-API-Key header' : 'Invalid API key');
    }
    if (needed !== 'any' && caller.scope !== needed && caller.scope !== 'admin') {
      throw new HttpError(403, `The key "${caller.keyName}" has scope ${caller.scope}; this needs ${needed}`);
    }
    const allowed = perKey?.take(caller.keyName);
    if (allowed !== undefined && !allowed.allowed) throw tooMany(allowed.retryAfterSeconds, `requests with the key "${caller.keyName}"`);
    return caller;
  };
}
