import { brotliCompressSync, constants, createBrotliCompress, createGzip, gzipSync, type BrotliOptions, type ZlibOptions } from 'node:zlib';
import type { Transform } from 'node:stream';

/** The content codings the service compresses with, in the order it prefers them on a tie. */
export type ContentCoding = 'br' | 'gzip';

/**
 * Bodies shorter than this (in characters) go uncompressed: below it the codings' headers and the
 * CPU cost outweigh the bytes saved, and nearly every POST's answer is far shorter.
 */
export const COMPRESS_MIN_CHARS = 1024;

// Levels chosen from `npm run bench` (exports coded against uncoded, and each coding's levels on a
// sample of an export: bench/compressed-exports.ts, measureCodingLevels): see docs/design.md.
// gzip's CPU is what keeps an export below its uncoded throughput (zlib shares the service's core),
// so its window is 4 KiB (windowBits 12) rather than 32 KiB: a window that stays in cache codes an
// export's lines about a fifth faster, and no larger (their repeats, keys and ids' prefixes, lie
// within a line or two). Output leaves in 64 KiB pieces rather than 16 KiB ones: fewer thread-pool
// round trips and writes to the socket. See bench/README.md, "Compression (issue 16)".
const GZIP: ZlibOptions = { level: 1, windowBits: 12, chunkSize: 64 * 1024 };
const BROTLI_QUALITY = 1;

function brotliOptions(sizeHint?: number): BrotliOptions {
  const params: Record<number, number> = { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY };
  if (sizeHint !== undefined) params[constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
  return { params };
}

/**
 * The coding to answer with, given the request's Accept-Encoding (RFC 9110 §12.5.3): the one with
 * the highest q-value among those the service has, brotli on a tie (it is both smaller and cheaper
 * at the levels used); `*` stands for any not named; none (identity) when the client accepts
 * neither, or sent no Accept-Encoding.
 */
export function chooseCoding(acceptEncoding: string | undefined): ContentCoding | undefined {
  if (acceptEncoding === undefined || acceptEncoding === '') return undefined;
  const qualities = new Map<string, number>();
  for (const entry of acceptEncoding.split(',')) {
    const [name = '', ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    if (name === '') continue;
    let quality = 1;
    for (const parameter of parameters) {
      const [key, value] = parameter.split('=').map((part) => part.trim());
      if (key === 'q') quality = Math.min(1, Math.max(0, Number(value) || 0));
    }
    qualities.set(name === 'x-gzip' ? 'gzip' : name, quality);
  }
  const any = qualities.get('*') ?? 0;
  const br = qualities.get('br') ?? any;
  const gzip = qualities.get('gzip') ?? any;
  if (br <= 0 && gzip <= 0) return undefined;
  return br >= gzip ? 'br' : 'gzip';
}

/** A whole body, compressed at once: it is at most a piece of an answer, a fraction of a millisecond's work. */
export function compressWhole(body: string, coding: ContentCoding): Buffer {
  const bytes = Buffer.from(body);
  return coding === 'br' ? brotliCompressSync(bytes, brotliOptions(bytes.length)) : gzipSync(bytes, GZIP);
}

/** A compressing stream for an answer sent in pieces; zlib works on libuv's thread pool, beside the main thread. */
export function createEncoder(coding: ContentCoding): Transform {
  return coding === 'br' ? createBrotliCompress(brotliOptions()) : createGzip(GZIP);
}
