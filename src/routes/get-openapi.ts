import { readFileSync } from 'node:fs';
import { HttpError } from '../http/http-error.js';
import { RawJson, type RouteHandler } from '../http/route.js';

/** Where `npm run build` writes openapi.yaml as JSON, beside the compiled sources. */
const DOCUMENT = new URL('../../openapi.json', import.meta.url);

/**
 * GET /openapi.json: the contract (openapi.yaml), for client generators and humans. Read once, when
 * the app is made: a running service needs nothing from its build, which a later build replaces.
 */
export function createGetOpenApiRoute(): RouteHandler {
  let document: RawJson | undefined;
  try {
    document = new RawJson(readFileSync(DOCUMENT, 'utf8'));
  } catch {
    document = undefined;
  }
  return async () => {
    if (document === undefined) throw new HttpError(404, 'The OpenAPI document was not built: run npm run build');
    return { status: 200, body: document };
  };
}
