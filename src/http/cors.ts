import type { IncomingMessage, ServerResponse } from 'node:http';

/** The request headers a page may send: the key (either way), a retry's identity, a JSON body's type, its own request id. */
const ALLOWED_HEADERS = 'X-API-Key, Authorization, Idempotency-Key, Content-Type, X-Request-Id';
/** The response headers a page may read beyond the CORS-safelisted ones: paging, where an event is, tracing, when to retry. */
const EXPOSED_HEADERS = 'Link, Location, X-Request-Id, Retry-After, Idempotent-Replayed';
/** How long a browser may reuse a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = '600';

/** What a browser's preflight gets back: the CORS headers, or a refusal for an origin not listed. */
export type Preflight = { status: 204 | 403; headers: Record<string, string>; message?: string };

/**
 * Cross-origin access for the pages of the origins listed (AUDITOR_CORS_ORIGINS), and no other:
 * with none listed (the default) no CORS header is ever sent, and browsers keep every other
 * site's page from reading the answers. Keys travel in headers, never cookies, so no credentials
 * are allowed: a page of a listed origin still needs a key of its own.
 */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.origins = new Set(origins);
  }

  get enabled(): boolean {
    return this.origins.size > 0;
  }

  /** Sets the headers that let the page of the request's Origin read this answer, when it is listed. */
  allowReading(request: IncomingMessage, response: ServerResponse): void {
    const origin = request.headers.origin;
    // The answer differs by Origin whether or not it is listed.
    response.setHeader('Vary', 'Origin');
    if (origin === undefined || !this.origins.has(origin)) return;
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  }

  /**
   * The answer to a preflight (an OPTIONS with Origin and Access-Control-Request-Method) for a
   * path whose methods are `methods`; undefined when the request is not a preflight, which then
   * goes on to its route, with allowReading's headers.
   */
  preflight(request: IncomingMessage, methods: readonly string[]): Preflight | undefined {
    const { origin } = request.headers;
    if (request.method !== 'OPTIONS' || origin === undefined || request.headers['access-control-request-method'] === undefined) return undefined;
    if (!this.origins.has(origin)) {
      return { status: 403, headers: { Vary: 'Origin' }, message: `The origin ${origin} may not call this service from a browser (AUDITOR_CORS_ORIGINS)` };
    }
    return {
      status: 204,
      headers: {
        Vary: 'Origin',
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': methods.join(', '),
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Max-Age': PREFLIGHT_MAX_AGE,
      },
    };
  }
}

/**
 * Reads AUDITOR_CORS_ORIGINS: a comma-separated list of origins, each exactly as a browser sends it
 * (scheme, host, and port when not the scheme's own, no path: `https://audit.example.com`).
 */
export function parseCorsOrigins(text: string): { origins: string[]; bad: string[] } {
  const origins: string[] = [];
  const bad: string[] = [];
  for (const entry of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    if (isOrigin(entry)) origins.push(entry);
    else bad.push(entry);
  }
  return { origins, bad };
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
  } catch {
    return false;
  }
}
