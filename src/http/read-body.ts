import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';
import { ROOM_WAIT_MS, type MemoryBudget } from './memory-budget.js';

// fatal: a body that is not UTF-8 is refused rather than silently "repaired" with U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The memory request bodies share, and who is asking (the key, for its share). */
export type BodyMemory = { budget: MemoryBudget; holder: string };

/** A request body read into memory, held against the budget until `release` (once done with it). */
export type HeldBody = { text: string; release(): void };

/**
 * Reads a JSON request body as text, refusing it before reading to the end when it is larger than
 * `maxBytes` (413), or when it declares a content type that is not JSON (415). A missing content
 * type is read as JSON: many HTTP clients leave it out for raw bodies. The body's size (as
 * declared, or `maxBytes` when it is not) is reserved in `memory` before a byte is read, waiting at
 * most ROOM_WAIT_MS: however many clients send at once, the bodies held stay within the budget.
 */
export async function readJsonBody(request: IncomingMessage, maxBytes: number, memory: BodyMemory): Promise<HeldBody> {
  requireJsonContentType(request.headers['content-type']);
  return readHeldBody(request, maxBytes, memory);
}

/** Reads a text/plain request body (a signed note) as readJsonBody reads JSON: 415 for another type. */
export async function readPlainTextBody(request: IncomingMessage, maxBytes: number, memory: BodyMemory): Promise<HeldBody> {
  const header = request.headers['content-type'];
  const [mediaType = '', ...parameters] = (header ?? 'text/plain').split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (mediaType !== 'text/plain' || (charset !== undefined && !UTF8_CHARSETS.has(charset))) {
    throw new HttpError(415, `Content-Type must be text/plain (UTF-8), not "${header}"`);
  }
  return readHeldBody(request, maxBytes, memory);
}

async function readHeldBody(request: IncomingMessage, maxBytes: number, memory: BodyMemory): Promise<HeldBody> {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw bodyTooLarge(maxBytes);

  const size = declared === undefined ? maxBytes : Number(declared);
  if (!memory.budget.tryReserve(size, memory.holder) && !(await memory.budget.reserve(size, memory.holder, ROOM_WAIT_MS))) {
    throw new HttpError(
      503,
      'The service is receiving as many request bodies as its memory allows (from this key, or from all); nothing was recorded; retry in 1 s',
      { 'Retry-After': '1' },
    );
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    memory.budget.release(size, memory.holder);
  };
  try {
    const chunks = await collectBody(request, maxBytes);
    return { text: decodeUtf8(chunks), release };
  } catch (error) {
    release();
    throw error;
  }
}

function decodeUtf8(chunks: Buffer[]): string {
  try {
    return utf8.decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  } catch {
    throw new HttpError(400, 'Request body is not valid UTF-8');
  }
}

/**
 * Collects the body with plain 'data'/'end' listeners: an async iterator over the request costs
 * several times more per request, and this is the ingest hot path.
 */
function collectBody(request: IncomingMessage, maxBytes: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    // Once settled, the listeners left on the request do nothing: taking four off cost every
    // request more than leaving them to go with it ('close' comes after every 'end').
    let settled = false;
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      received += chunk.length;
      if (received > maxBytes) {
        settled = true;
        request.pause(); // read no further; the answer closes the connection
        reject(bodyTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (settled) return;
      settled = true;
      resolve(chunks);
    };
    const onError = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(new HttpError(400, `The request body could not be read: ${error.message}`));
    };
    // A client that hangs up mid-body may not cause an 'error': without this the request
    // would wait for an 'end' that never comes.
    const onClose = (): void => {
      if (!settled) onError(new Error('the client closed the connection'));
    };
    request.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/**
 * Charsets a body is read as UTF-8 under: `utf8` is a common misspelling, and US-ASCII is a subset
 * (a byte over 0x7f is then still refused as invalid UTF-8, or read as what it surely meant).
 */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

function requireJsonContentType(header: string | undefined): void {
  if (header === undefined || header === 'application/json') return; // nearly every request: nothing to parse
  const [mediaType = '', ...parameters] = header.split(';').map((part) => part.trim().toLowerCase());
  const isJson = mediaType === 'application/json' || /^application\/[^/]+\+json$/.test(mediaType);
  if (!isJson) {
    // curl -d sends this type unless told otherwise: say how to fix it.
    const hint = mediaType === 'application/x-www-form-urlencoded' ? " (with curl, add -H 'Content-Type: application/json')" : '';
    throw new HttpError(415, `Content-Type must be application/json, not "${header}"${hint}`);
  }
  for (const parameter of parameters) {
    const [name, value = ''] = parameter.split('=').map((part) => part.trim());
    if (name === 'charset' && !UTF8_CHARSETS.has(value.replace(/"/g, ''))) {
      throw new HttpError(415, `Request bodies must be UTF-8, not charset "${value}"`);
    }
  }
}

function bodyTooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `Request body is larger than the limit of ${maxBytes} bytes`);
}
