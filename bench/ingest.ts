import type { LoadGenerator, LoadResult } from './load.js';
import { startServer, type RunningServer } from './server-process.js';

export type IngestRound = { round: number; kind: 'baseline' | 'service'; result: LoadResult; peakRssMb: number };

export type IngestPlan = {
  load: LoadGenerator;
  servers: { baseline: string; service: string };
  env: Record<string, string>;
  pin: { taskset: boolean; serverCpu: number; loadCpu: number };
  headers: Record<string, string>;
  bodies: readonly string[];
  connections: number;
  rounds: number;
  durationSeconds: number;
};

/**
 * Alternates the baseline and the real service, each a fresh process warmed up for 2 s, so both
 * meet the same machine conditions; returns every round.
 */
export async function runIngest(plan: IngestPlan): Promise<IngestRound[]> {
  const results: IngestRound[] = [];
  const post = (server: RunningServer, seconds: number) =>
    plan.load.run({
      url: server.url, method: 'POST', headers: plan.headers, connections: plan.connections,
      durationSeconds: seconds, paths: ['/events'], bodies: plan.bodies, cpu: plan.pin.loadCpu,
    });
  for (let round = 1; round <= plan.rounds; round++) {
    for (const kind of ['baseline', 'service'] as const) {
      const server = await startServer(plan.servers[kind], plan.env, { taskset: plan.pin.taskset, cpu: plan.pin.serverCpu });
      try {
        await post(server, 2);
        const result = await post(server, plan.durationSeconds);
        results.push({ round, kind, result, peakRssMb: server.peakRssMb() });
        console.log(`round ${round} ${kind.padEnd(8)} ${result.requestsPerSecond.toFixed(0)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}`);
      } finally {
        await server.stop();
      }
    }
  }
  return results;
}
