/** What went wrong with a call to the API, said so that the analyst knows what to do next. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    /** `down`: no answer at all; `key`: the key was refused; `answer`: the service said no. */
    readonly kind: 'down' | 'key' | 'answer',
    readonly status?: number,
  ) {
    super(message);
  }
}

export const SERVICE_DOWN = 'The service did not answer. Check that it is running and that this page can reach it, then try again.';

/**
 * Calls the API with the key in X-API-Key (never in a URL: URLs end up in logs and history).
 * Resolves with a 2xx response; anything else throws an ApiError whose message says what to do.
 */
export async function callApi(path: string, key: string, accept = 'application/json'): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { 'X-API-Key': key, Accept: accept }, cache: 'no-store' });
  } catch {
    throw new ApiError(SERVICE_DOWN, 'down');
  }
  if (response.ok) return response;
  const message = await serviceMessage(response);
  if (response.status === 401) throw new ApiError('This key was refused: check that it was pasted whole, or ask for a new one.', 'key', 401);
  if (response.status === 403) throw new ApiError('This key may not read events: sign in with a read or admin key.', 'key', 403);
  if (response.status === 429) throw new ApiError(`${message} Wait a moment, then try again.`, 'answer', 429);
  if (response.status >= 500) throw new ApiError(`The service could not answer (${response.status}): ${message} Try again shortly.`, 'answer', response.status);
  throw new ApiError(message, 'answer', response.status);
}

/** The service's `{"message": …}`, or the status when the body says nothing readable (a proxy's page). */
async function serviceMessage(response: Response): Promise<string> {
  try {
    const body: unknown = await response.json();
    if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: fall through
  }
  return `The service answered ${response.status} ${response.statusText}.`;
}

/** The target of a `Link: <…>; rel="next"` header: the next page's path, cursor included. */
export function nextPage(response: Response): string | undefined {
  const link = response.headers.get('Link');
  if (link === null) return undefined;
  for (const part of link.split(',')) {
    const match = /^\s*<([^>]*)>\s*;\s*rel="?next"?\s*$/.exec(part);
    if (match !== null) return match[1];
  }
  return undefined;
}
