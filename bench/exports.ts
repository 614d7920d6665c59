import { get, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { brotliCompressSync, constants, createBrotliDecompress, createGunzip, gzipSync } from 'node:zlib';
import type { RunningServer } from './server-process.js';

export type ExportResult = {
  events: number;
  /** The answer's size once decoded. */
  megabytes: number;
  /** What crossed the connection: the coded size when the answer was compressed. */
  wireMegabytes: number;
  /** The Content-Encoding the service answered with; identity when none. */
  coding: string;
  timeToFirstByteMs: number;
  totalMs: number;
  /** The server's CPU time (every thread) from the request to the last byte. */
  serverCpuMs: number;
  /** The server's peak resident memory once this answer was sent. */
  serverPeakRssMb: number;
};

/**
 * Fetches one whole answer as a client would (node:http, decoding what came coded), timing the
 * first byte and the last, counting the bytes on the wire and decoded, and counting events (lines
 * of NDJSON or CSV, objects of a JSON array) without holding the answer in memory.
 */
export async function measureExport(server: RunningServer, path: string, accept: string, apiKey: string, acceptEncoding = 'identity'): Promise<ExportResult> {
  const cpuBefore = server.cpuMicros();
  const started = performance.now();
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    get(`${server.url}${path}`, { headers: { 'X-API-Key': apiKey, Accept: accept, 'Accept-Encoding': acceptEncoding } }, resolve).on('error', reject);
  });
  if (response.statusCode !== 200) throw new Error(`${path} answered ${response.statusCode}`);
  const coding = response.headers['content-encoding'] ?? 'identity';
  let firstByte: number | undefined;
  let wireBytes = 0;
  response.on('data', (part: Buffer) => {
    firstByte ??= performance.now();
    wireBytes += part.length;
  });
  const decoded: Readable = coding === 'gzip' ? response.pipe(createGunzip()) : coding === 'br' ? response.pipe(createBrotliDecompress()) : response;
  const marker = accept === 'application/json' ? '{"id":' : '\n';
  let bytes = 0;
  let events = 0;
  let carry = '';
  for await (const part of decoded as AsyncIterable<Buffer>) {
    bytes += part.length;
    const text = carry + part.toString('latin1');
    events += text.split(marker).length - 1;
    carry = marker.length > 1 ? text.slice(-(marker.length - 1)) : ''; // a marker split across reads
  }
  const finished = performance.now();
  if (accept === 'text/csv') events -= 1; // its header line
  return {
    events,
    megabytes: bytes / 1e6,
    wireMegabytes: wireBytes / 1e6,
    coding,
    timeToFirstByteMs: (firstByte ?? finished) - started,
    totalMs: finished - started,
    serverCpuMs: (server.cpuMicros() - cpuBefore) / 1000,
    serverPeakRssMb: server.peakRssMb(),
  };
}

export type CodingLevel = { coding: string; level: number; ratio: number; megabytesPerCpuSecond: number };

/**
 * Each coding at a few levels over `sample` (an export's bytes), in this process: the size it
 * leaves (coded / plain) and the plain megabytes it codes per second of one core. What the
 * service's levels (src/http/compression.ts) were chosen from.
 */
export function measureCodingLevels(sample: Buffer): CodingLevel[] {
  const levels: Array<[string, number, (bytes: Buffer) => Buffer]> = [
    ...[1, 3, 6].map((level): [string, number, (bytes: Buffer) => Buffer] => ['gzip', level, (bytes) => gzipSync(bytes, { level })]),
    // The service's gzip: level 1 with a 4 KiB window (src/http/compression.ts).
    ['gzip, windowBits 12', 1, (bytes) => gzipSync(bytes, { level: 1, windowBits: 12 })],
    ...[1, 4, 6].map((level): [string, number, (bytes: Buffer) => Buffer] => ['br', level, (bytes) => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: level, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } })]),
  ];
  return levels.map(([coding, level, code]) => {
    code(sample); // once first, so the figure is not a cold one
    const started = process.cpuUsage();
    let coded = 0;
    let runs = 0;
    const deadline = performance.now() + 1000;
    do {
      coded = code(sample).length;
      runs++;
    } while (performance.now() < deadline);
    const used = process.cpuUsage(started);
    const cpuSeconds = (used.user + used.system) / 1e6;
    return { coding, level, ratio: coded / sample.length, megabytesPerCpuSecond: (runs * sample.length) / 1e6 / cpuSeconds };
  });
}
