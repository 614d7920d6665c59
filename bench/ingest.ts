import type { LoadGenerator, LoadResult } from './load.js';
import { startServer, type RunningServer } from './server-process.js';

export type ServerKind = 'baseline' | 'service' | 'unchained';
export type IngestRound = { round: number; kind: ServerKind; result: LoadResult; peakRssMb: number };

export type IngestPlan = {
  load: LoadGenerator;
  servers: Record<ServerKind, string>;
  env: Record<string, string>;
  pin: { taskset: boolean; serverCpu: number; loadCpu: number };
  headers: Record<string, string>;
  bodies: readonly string[];
  connections: number;
  rounds: number;
  durationSeconds: number;
};

/**
 * Alternates the baseline, the real service and the service without its chain, each a fresh
 * process warmed up for 2 s, so all meet the same machine conditions; returns every round.
 */
export async function runIngest(plan: IngestPlan): Promise<IngestRound[]> {
  const results: IngestRound[] = [];
  const post = (server: RunningServer, seconds: number) =>
    plan.load.run({
      url: server.url, method: 'POST', headers: plan.headers, connections: plan.connections,
      durationSeconds: seconds, paths: ['/events'], bodies: plan.bodies, cpu: plan.pin.loadCpu,
    });
  for (let round = 1; round <= plan.rounds; round++) {
    // The order turns each round: every run adds rows to the shared file, and no kind should
    // always meet the largest one.
    const kinds: ServerKind[] = ['baseline', 'service', 'unchained'];
    for (const kind of [...kinds.slice((round - 1) % 3), ...kinds.slice(0, (round - 1) % 3)]) {
      const server = await startServer(plan.servers[kind], plan.env, { taskset: plan.pin.taskset, cpu: plan.pin.serverCpu });
      try {
        await post(server, 2);
        const result = await post(server, plan.durationSeconds);
        results.push({ round, kind, result, peakRssMb: server.peakRssMb() });
        console.log(`round ${round} ${kind.padEnd(9)} ${result.requestsPerSecond.toFixed(0)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}`);
      } finally {
        await server.stop();
      }
    }
  }
  return results;
}
