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
 * Returns a check that the request carries a known key, in `X-API-Key` or as `Authorization:
 * Bearer` (and nowhere else, such as the query string, where it would end up in logs), whose scope
 * allows `needed` ('any' takes every known key): a known key of the wrong scope is 403, and
 * one over its own rate is 429. An unknown or missing key spends the failed-authentication budget
 * of `client` (the address createClientAddress found) and is 401, or 429 once that budget is spent,
 * so guessing keys is slow. The key is looked up first: a known key is never refused for failures,
 * which behind a proxy or NAT are mostly someone else's.
 */
export function createScopeGuard(registry: KeyRegistry, limits: GuardLimits = {}): ScopeGuard {
  const { perKey, failedAuth } = limits;
  const tooMany = (seconds: number, message: string): HttpError => new HttpError(429, message, { 'Retry-After': String(seconds) });

  return (request, needed, client) => {
    // The registry knows digests only: the presented key is hashed here, and goes no further.
    const presented = presentedKey(request);
    const missing = presented === undefined || presented === '';
    const caller = missing ? undefined : registry.find(hashKey(presented));
    if (caller === undefined) {
      const spent = failedAuth?.take(client);
      if (spent !== undefined && !spent.allowed) {
        const seconds = spent.retryAfterSeconds;
        throw tooMany(seconds, `Too many failed authentications from this address; retry in ${seconds} s with a valid X-API-Key`);
      }
      throw new HttpError(401, missing ? 'Missing API key: send it in X-API-Key, or as Authorization: Bearer <key>' : 'Invalid API key', CHALLENGE);
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

/** RFC 9110 §11.6.1: a 401 names the scheme that would be accepted. */
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="auditor"' };

/** `Authorization: Bearer <key>`, the scheme's name in any case (RFC 9110 §11.1), one or more spaces after it. */
const BEARER = /^bearer +(\S+) *$/i;

/**
 * The key the request presents: X-API-Key, or the token of `Authorization: Bearer` (which
 * Prometheus's scrape configuration and most HTTP client libraries send natively). Both, naming
 * different keys, is 400: which one was meant cannot be known. Node joins repeated X-API-Key
 * headers with ", ", which then matches no key; another Authorization scheme presents no key.
 */
function presentedKey(request: IncomingMessage): string | undefined {
  const raw = request.headers['x-api-key'];
  const header = raw === undefined ? undefined : String(raw);
  const authorization = request.headers.authorization;
  const bearer = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
  if (header !== undefined && bearer !== undefined && header !== bearer) {
    throw new HttpError(400, 'X-API-Key and Authorization: Bearer name different keys; send the key in one of them');
  }
  return header ?? bearer;
}
