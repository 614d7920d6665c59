import { readdirSync, readFileSync } from 'node:fs';
import { HttpError } from '../http/http-error.js';
import type { RouteHandler, WholeReply } from '../http/route.js';

/** Where `npm run build` writes the web viewer (scripts/build-viewer.mjs), beside the compiled sources. */
const VIEWER = new URL('../../viewer/', import.meta.url);

/**
 * The page allows its own scripts, styles and API calls and nothing else: no inline script or
 * style, no other origin, no frames, no forms posted anywhere. An injected string in an event's
 * data can then run nothing, and the key the page holds can go nowhere but to this service.
 */
export const VIEWER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Asset names carry their content's hash, so a name's bytes never change: browsers may keep them. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export type ViewerRoutes = {
  /** GET /: the page; revalidated on every visit (no-cache), so a new build is picked up at once. */
  page: RouteHandler;
  /** GET /ui/{asset}: a built asset, by its exact name. */
  asset: RouteHandler;
};

/**
 * The web viewer's files, read once when the app is made (as the OpenAPI document is): a running
 * service needs nothing from its build, which a later build replaces. An asset is looked up by
 * name among the files read, never joined to a path, so no name reaches outside them (`..`, an
 * encoded slash, an absolute path are simply not among the names).
 */
export function createViewerRoutes(): ViewerRoutes {
  const built = readViewer();
  const notBuilt = new HttpError(404, 'The web viewer was not built: run npm run build');
  return {
    page: async () => {
      if (built === undefined) throw notBuilt;
      return built.page;
    },
    asset: async (_request, { pathParams }) => {
      if (built === undefined) throw notBuilt;
      const name = pathParams.asset!;
      const asset = built.assets.get(name);
      if (asset === undefined) throw new HttpError(404, `No such file of the web viewer: ${JSON.stringify(name)}`);
      return asset;
    },
  };
}

function readViewer(): { page: WholeReply; assets: Map<string, WholeReply> } | undefined {
  let html: string;
  try {
    html = readFileSync(new URL('index.html', VIEWER), 'utf8');
  } catch {
    return undefined;
  }
  const headers = { 'Content-Security-Policy': VIEWER_CSP, 'Referrer-Policy': 'no-referrer' };
  const page: WholeReply = { status: 200, contentType: 'text/html; charset=utf-8', text: html, headers: { ...headers, 'Cache-Control': 'no-cache' } };
  const assets = new Map<string, WholeReply>();
  const folder = new URL('assets/', VIEWER);
  for (const name of readdirSync(folder)) {
    const contentType = CONTENT_TYPES[name.slice(name.lastIndexOf('.'))];
    if (contentType === undefined) continue; // served only as what it is
    const text = readFileSync(new URL(encodeURIComponent(name), folder), 'utf8');
    assets.set(name, { status: 200, contentType, text, headers: { ...headers, 'Cache-Control': IMMUTABLE } });
  }
  return { page, assets };
}
