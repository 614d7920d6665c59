import type { RunningServer } from './server-process.js';

export type ExportResult = {
  events: number;
  megabytes: number;
  timeToFirstByteMs: number;
  totalMs: number;
  /** The server's peak resident memory once this answer was sent. */
  serverPeakRssMb: number;
};

/**
 * Fetches one whole answer as a client would, timing the first byte and the last, and counting
 * events (lines of NDJSON, objects of a JSON array) without holding the answer in memory.
 */
export async function measureExport(server: RunningServer, path: string, accept: string, apiKey: string): Promise<ExportResult> {
  const started = performance.now();
  const response = await fetch(`${server.url}${path}`, { headers: { 'X-API-Key': apiKey, Accept: accept } });
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let firstByte: number | undefined;
  let bytes = 0;
  let events = 0;
  const marker = accept === 'application/x-ndjson' ? '\n' : '{"id":';
  let carry = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    firstByte ??= performance.now();
    bytes += value.length;
    const text = carry + decoder.decode(value, { stream: true });
    events += text.split(marker).length - 1;
    carry = marker.length > 1 ? text.slice(-(marker.length - 1)) : ''; // a marker split across reads
  }
  const finished = performance.now();
  return {
    events,
    megabytes: bytes / 1e6,
    timeToFirstByteMs: (firstByte ?? finished) - started,
    totalMs: finished - started,
    serverPeakRssMb: server.peakRssMb(),
  };
}
