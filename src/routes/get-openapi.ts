import { readFileSync } from 'node:fs';
import { HttpError } from '../http/http-error.js';
import { RawJson, type RouteHandler } from '../http/route.js';

/** Where `npm run build` writes openapi.yaml as JSON, beside the compiled sources. */
const DOCUMENT = new URL('../../openapi.json', import.meta.url);

/** GET /openapi.json: the contract (openapi.yaml), for client generators and humans. */
export function createGetOpenApiRoute(): RouteHandler {
  let document: RawJson | undefined;
  return async () => {
    try {
      document ??= new RawJson(readFileSync(DOCUMENT, 'utf8'));
    } catch {
      throw new HttpError(404, 'The OpenAPI document was not built: run npm run build');
    }
    return { status: 200, body: document };
  };
}
