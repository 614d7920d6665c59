/**
 * What compression costs an export: each answer fetched uncoded, gzip- and brotli-coded, in rounds
 * that turn the order (a shared machine drifts), on one server process. The throughput ratio
 * (uncoded time / coded time) is taken per round, then its median: issue 16 asks it stay ≥ 0.8.
 */
import { measureExport, type ExportResult } from './exports.js';
import { median } from './report.js';
import type { RunningServer } from './server-process.js';

export type CodedAnswer = { name: string; path: string; accept: string };

export type CodedExportSummary = {
  events: number;
  megabytes: number;
  /** Per coding: the median of the rounds. */
  byCoding: Record<string, { wireMegabytes: number; totalMs: number; serverCpuMs: number; serverPeakRssMb: number }>;
  /** Per coding: uncoded total time / coded total time, per round, and its median. */
  throughputRatio: Record<string, number>;
  throughputRatios: Record<string, number[]>;
};

const CODINGS = ['identity', 'gzip', 'br'] as const;

export async function measureCompressedExports(server: RunningServer, answers: readonly CodedAnswer[], rounds: number, apiKey: string): Promise<Record<string, CodedExportSummary>> {
  const runs = new Map<string, ExportResult[]>(); // `${answer} ${coding}` → one per round
  for (let round = 0; round < rounds; round++) {
    for (const answer of answers) {
      const order = CODINGS.map((_, i) => CODINGS[(i + round) % CODINGS.length]!);
      for (const coding of order) {
        const result = await measureExport(server, answer.path, answer.accept, apiKey, coding);
        if (result.coding !== coding) throw new Error(`${answer.name}: asked for ${coding}, answered ${result.coding}`);
        const key = `${answer.name} ${coding}`;
        runs.set(key, [...(runs.get(key) ?? []), result]);
      }
    }
  }
  return Object.fromEntries(answers.map((answer) => {
    const of = (coding: string): ExportResult[] => runs.get(`${answer.name} ${coding}`)!;
    const plain = of('identity');
    for (const coding of CODINGS) {
      if (of(coding).some((r) => r.events !== plain[0]!.events || Math.abs(r.megabytes - plain[0]!.megabytes) > 1e-9)) {
        throw new Error(`${answer.name}: the ${coding} answer decodes to other events than the uncoded one`);
      }
    }
    const ratios = (coding: string): number[] => of(coding).map((r, i) => plain[i]!.totalMs / r.totalMs);
    return [answer.name, {
      events: plain[0]!.events,
      megabytes: plain[0]!.megabytes,
      byCoding: Object.fromEntries(CODINGS.map((coding) => [coding, {
        wireMegabytes: median(of(coding).map((r) => r.wireMegabytes)),
        totalMs: median(of(coding).map((r) => r.totalMs)),
        serverCpuMs: median(of(coding).map((r) => r.serverCpuMs)),
        serverPeakRssMb: Math.max(...of(coding).map((r) => r.serverPeakRssMb)),
      }])),
      throughputRatio: Object.fromEntries(['gzip', 'br'].map((coding) => [coding, median(ratios(coding))])),
      throughputRatios: Object.fromEntries(['gzip', 'br'].map((coding) => [coding, ratios(coding)])),
    }];
  }));
}
