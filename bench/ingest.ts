import type { LoadGenerator, LoadResult } from './load.js';
import { startServer, type RunningServer } from './server-process.js';

export type IngestRound = {
  round: number;
  kind: string;
  result: LoadResult;
  peakRssMb: number;
  /** The server's CPU time (every thread) per request of the measured run: steadier than requests/s on a shared machine. */
  cpuMicrosPerRequest: number;
};

/**
 * A server to measure: the script node runs, its environment, and where it runs when not on the
 * plan's server CPU: `cpus` for all its threads, `mainThreadCpu` for its main thread alone.
 */
export type ServerUnderTest = { script: string; env: Record<string, string>; cpus?: string; mainThreadCpu?: number };

export type IngestPlan = {
  load: LoadGenerator;
  /** By kind: the baseline, the service on SQLite, on PostgreSQL… */
  servers: Record<string, ServerUnderTest>;
  pin: { taskset: boolean; serverCpu: number; loadCpu: number };
  headers: Record<string, string>;
  /** POST by default; GET reads `paths` (and sends no bodies). */
  method?: 'GET' | 'POST';
  /** POST /events by default; /events/batch with bodies of several events. */
  path?: string;
  /** Request targets, cycled through, instead of the one `path`. */
  paths?: readonly string[];
  /** Events in each body, for the events/s printed (1 by default). */
  eventsPerRequest?: number;
  bodies?: readonly string[];
  connections: number;
  rounds: number;
  durationSeconds: number;
};

/**
 * Alternates the servers (the baseline, the real service on each database, the build before the
 * tree), each a fresh process warmed up for 2 s, so all meet the same machine conditions; returns
 * every round. Reads (`method: 'GET'`) are measured the same way.
 */
export async function runIngest(plan: IngestPlan): Promise<IngestRound[]> {
  const results: IngestRound[] = [];
  const perRequest = plan.eventsPerRequest ?? 1;
  const method = plan.method ?? 'POST';
  const post = (server: RunningServer, seconds: number) =>
    plan.load.run({
      url: server.url, method, headers: plan.headers, connections: plan.connections, durationSeconds: seconds,
      paths: plan.paths ?? [plan.path ?? '/events'], ...(method === 'POST' ? { bodies: plan.bodies ?? [] } : {}), cpu: plan.pin.loadCpu,
    });
  for (let round = 1; round <= plan.rounds; round++) {
    // The order turns each round: every run adds rows to the shared database, and no kind should
    // always meet the largest one.
    const kinds = Object.keys(plan.servers);
    const turn = (round - 1) % kinds.length;
    for (const kind of [...kinds.slice(turn), ...kinds.slice(0, turn)]) {
      const { script, env, cpus, mainThreadCpu } = plan.servers[kind]!;
      const server = await startServer(script, env, { taskset: plan.pin.taskset, cpu: cpus ?? plan.pin.serverCpu, mainThreadCpu });
      try {
        await post(server, 2);
        const cpuBefore = server.cpuMicros();
        const result = await post(server, plan.durationSeconds);
        const cpuMicrosPerRequest = (server.cpuMicros() - cpuBefore) / result.requests;
        results.push({ round, kind, result, peakRssMb: server.peakRssMb(), cpuMicrosPerRequest });
        const rate = perRequest === 1 ? `${result.requestsPerSecond.toFixed(0)} req/s` : `${(result.requestsPerSecond * perRequest).toFixed(0)} events/s in batches of ${perRequest}`;
        console.log(`round ${round} ${kind.padEnd(9)} ${rate}  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  CPU ${cpuMicrosPerRequest.toFixed(1)} µs/request  errors ${result.errors}`);
      } finally {
        await server.stop();
      }
    }
  }
  return results;
}
