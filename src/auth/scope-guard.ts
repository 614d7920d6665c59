import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http/http-error.js';
import type { Caller, KeyRegistry } from './key-registry.js';
import { hashKey, type Scope } from './keys-file.js';
import type { RateLimiter } from './rate-limiter.js';

export type GuardLimits = {
  /** Requests per key; none means unlimited. */
  perKey?: RateLimiter | undefined;
  /** Failed authentications per client address; none means unlimited. */
  failedAuth?: RateLimiter | undefined;
};

/** Checks a request's key for `needed`, or throws the 401, 403 or 429; `client` is the address the failures count against. */
export type ScopeGuard = (request: IncomingMessage, needed: Scope | 'any', client: string) => Caller;

/**
 * Returns a check that the request carries a known key in `X-API-Key` (and nowhere else) whose
 * scope allows `needed` ('any' takes every known key): a known key of the wrong scope is 403, and
 * one over its own rate is 429. An unknown or missing key spends the failed-authentication budget
 * of `client` (the address createClientAddress found) and is 401, or 429 once that budget is spent,
 * so guessing keys is slow. The key is looked up first: a known key is never refused for failures,
 * which behind a proxy or NAT are mostly someone else's.
 */
export function createScopeGuard(registry: KeyRegistry, limits: GuardLimits = {}): ScopeGuard {
  const { perKey, failedAuth } = limits;
  const tooMany = (seconds: number, message: string): HttpError => new HttpError(429, message, { 'Retry-After': String(seconds) });

  return (request, needed, client) => {
    // Node joins repeated X-API-Key headers with ", ", which then matches no key. The registry
    // knows digests only: the presented key is hashed here, and goes no further.
    const presented = request.headers['x-api-key'];
    const missing = presented === undefined || presented === '';
    const caller = missing ? undefined : registry.find(hashKey(String(presented)));
    if (caller === undefined) {
      const spent = failedAuth?.take(client);
      if (spent !== undefined && !spent.allowed) {
        const seconds = spent.retryAfterSeconds;
        throw tooMany(seconds, `Too many failed authentications from this address; retry in ${seconds} s with a valid X-API-Key`);
      }
      throw new HttpError(401, missing ? 'Missing X-API-Key header' : 'Invalid API key');
    }
    if (needed !== 'any' && caller.scope !== needed && caller.scope !== 'admin') {
      throw new HttpError(403, `The key "${caller.keyName}" has scope ${caller.scope}; this needs ${needed}`);
    }
    const allowed = perKey?.take(caller.keyName);
    if (allowed !== undefined && !allowed.allowed) {
      const seconds = allowed.retryAfterSeconds;
      throw tooMany(seconds, `Too many requests with the key "${caller.keyName}"; retry in ${seconds} s`);
    }
    return caller;
  };
}
