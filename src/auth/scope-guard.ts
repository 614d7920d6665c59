import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http/http-error.js';
import type { Caller, KeyRegistry } from './key-registry.js';
import type { Scope } from './keys-file.js';

/**
 * Returns a check that the request carries a known key in `X-API-Key` (and nowhere else) whose
 * scope allows `needed`: an unknown or missing key is 401, a known key of the wrong scope is 403.
 */
export function createScopeGuard(registry: KeyRegistry): (request: IncomingMessage, needed: Scope) => Caller {
  return (request, needed) => {
    // Node joins repeated X-API-Key headers with ", ", which then matches no key.
    const presented = request.headers['x-api-key'];
    if (presented === undefined || presented === '') throw new HttpError(401, 'Missing X-API-Key header');
    const caller = registry.find(String(presented));
    if (caller === undefined) throw new HttpError(401, 'Invalid API key');
    if (caller.scope !== needed && caller.scope !== 'admin') {
      throw new HttpError(403, `The key "${caller.keyName}" has scope ${caller.scope}; this needs ${needed}`);
    }
    return caller;
  };
}
