import client from 'prom-client';
import type { DeliveryOutcome } from '../delivery/sink-deliverer.js';
import type { StreamEnd } from '../stream/live-streams.js';
import { registerRequestMetrics } from './request-metrics.js';

/** What the service counts, in the Prometheus text format (prom-client). */
export type Metrics = {
  registry: client.Registry;
  /** One answered request; `route` is the route pattern, never the raw path (bounded labels). */
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  eventsIngested(count: number): void;
  /** One committed transaction and how many events it held. */
  batchCommitted(events: number): void;
  /** How many seconds this process's clock is behind the newest event it stamped (0 normally). */
  clockBehindLog(seconds: number): void;
  /** The latest checkpoint of the Merkle tree this process signed or found kept: its size, and when it was signed. */
  checkpointSigned(size: number, createdMs: number): void;
  /** A request refused before it reached the app (see protocol-error.ts); `code` is from a fixed set. */
  protocolError(status: number, code: string): void;
  /** Events whose payload was removed, by retention or an erasure. */
  payloadsRemoved(reason: 'retention' | 'erasure', count: number): void;
  /** A retention run that completed (and when), or failed. */
  retentionRun(outcome: 'completed' | 'failed', atMs: number): void;
  /** A live stream (GET /events/stream) ended, and why. */
  streamEnded(reason: StreamEnd): void;
  /** A webhook delivery was answered with a 2xx (delivered), or not (failed). */
  sinkDelivery(outcome: DeliveryOutcome): void;
};

/** What a sink has not delivered yet (see sinkLag). */
export type SinkLagSample = { sink: string; events: number; seconds: number };

/** prom-client's default gauges that end in `_total`, which Prometheus keeps for counters. */
const REDUNDANT_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function createMetrics(
  options: {
    databaseBytes?: () => Promise<number>;
    responseMemory?: () => number;
    requestMemory?: () => number;
    openStreams?: () => number;
    sinkLags?: () => Promise<SinkLagSample[]>;
  } = {},
): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry }); // CPU, memory, event loop lag, handles
  // Gauges named like counters, which `promtool check metrics` refuses; each is the sum of its
  // by-type gauge (sum(nodejs_active_handles)), so nothing is lost. See docs/design.md.
  for (const name of REDUNDANT_DEFAULT_GAUGES) registry.removeSingleMetric(name);

  const observeRequest = registerRequestMetrics(registry, [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  const protocolErrors = new client.Counter({
    name: 'auditor_http_protocol_errors_total',
    help: 'Requests refused before reaching a route because they broke HTTP/1.1 (unreadable, too slow, headers too large, no Host, an unmet Expect, CONNECT), by status and code',
    labelNames: ['status', 'code'] as const,
    registers: [registry],
  });
  const ingested = new client.Counter({
    name: 'auditor_events_ingested_total',
    help: 'Events recorded (idempotent replays not counted again)',
    registers: [registry],
  });
  const batches = new client.Histogram({
    name: 'auditor_commit_batch_events',
    // The name predates the distinction between a commit batch and a transaction; dashboards query it.
    help: 'Events written per committed database transaction, one observation per transaction (an idempotent replay writes none; the SQLite writer commits every commit batch waiting for it in one transaction)',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 4000],
    registers: [registry],
  });
  const clockBehind = new client.Gauge({
    name: 'auditor_clock_behind_log_seconds',
    help: 'How far this process\'s clock is behind the newest event it stamped, as of its last commit that stored events: 0 normally; ' +
      'above 0, events are stamped with the newest event\'s time rather than now (a clock stepped back, or another instance\'s ahead)',
    registers: [registry],
  });
  const checkpointSize = new client.Gauge({
    name: 'auditor_checkpoint_size',
    help: 'Events covered by the latest signed checkpoint of the Merkle tree this process signed or read',
    registers: [registry],
  });
  const checkpointTime = new client.Gauge({
    name: 'auditor_checkpoint_timestamp_seconds',
    help: 'When that checkpoint was signed, in seconds since 1970: alert when time() minus this grows while events arrive (checkpoints are not being signed)',
    registers: [registry],
  });
  const removed = new client.Counter({
    name: 'auditor_payloads_removed_total',
    help: 'Events whose payload (data and its salt) was removed, by reason: retention (the policy in AUDITOR_RETENTION) or erasure (POST /erasures)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of ['retention', 'erasure']) removed.inc({ reason }, 0);
  const retentionRuns = new client.Counter({
    name: 'auditor_retention_runs_total',
    help: 'Runs of the retention job, by outcome (completed or failed; a failed run is tried again at the next interval)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const retentionCompleted = new client.Gauge({
    name: 'auditor_retention_completed_timestamp_seconds',
    help: 'When the last retention run completed, in seconds since 1970: alert when time() minus this grows well past AUDITOR_RETENTION_INTERVAL',
    registers: [registry],
  });
  const { databaseBytes } = options;
  new client.Gauge({
    name: 'auditor_database_bytes',
    help: 'Space the events take in the database: the SQLite file and its WAL, or the PostgreSQL tables and indexes',
    registers: [registry],
    async collect() {
      if (databaseBytes === undefined) return;
      try {
        this.set(await databaseBytes());
      } catch {
        // a database that is down has no size to report; the scrape itself still answers
      }
    },
  });

  const { responseMemory, requestMemory } = options;
  new client.Gauge({
    name: 'auditor_response_memory_bytes',
    help: 'Memory held by answers being sent (their event text, in characters, and 1 MiB per compressing encoder), against AUDITOR_RESPONSE_MEMORY_BYTES',
    registers: [registry],
    collect() {
      if (responseMemory !== undefined) this.set(responseMemory());
    },
  });
  new client.Gauge({
    name: 'auditor_request_memory_bytes',
    help: 'Request bodies held from their first byte until their events are stored, against AUDITOR_REQUEST_MEMORY_BYTES',
    registers: [registry],
    collect() {
      if (requestMemory !== undefined) this.set(requestMemory());
    },
  });

  const { openStreams } = options;
  new client.Gauge({
    name: 'auditor_streams_open',
    help: 'Live streams (GET /events/stream) open in this process, against AUDITOR_STREAMS_PER_KEY per key',
    registers: [registry],
    collect() {
      if (openStreams !== undefined) this.set(openStreams());
    },
  });
  const streamsEnded = new client.Counter({
    name: 'auditor_streams_ended_total',
    help: 'Live streams ended, by reason: client (it left), slow (cut off for not reading), shutdown, failed (the database could not be read)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of ['client', 'slow', 'shutdown', 'failed']) streamsEnded.inc({ reason }, 0);
  const deliveries = new client.Counter({
    name: 'auditor_sink_deliveries_total',
    help: 'Webhook deliveries (a batch of events POSTed to a sink) by outcome: delivered (a 2xx) or failed (retried with backoff)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of ['delivered', 'failed']) deliveries.inc({ outcome }, 0);
  // Both gauges from one reading of the sinks' lag per scrape.
  const { sinkLags } = options;
  let lagReading: Promise<SinkLagSample[]> | undefined;
  const readLags = (): Promise<SinkLagSample[]> => {
    lagReading ??= (sinkLags?.() ?? Promise.resolve([])).catch(() => []).finally(() => setImmediate(() => (lagReading = undefined)));
    return lagReading;
  };
  new client.Gauge({
    name: 'auditor_sink_lag_events',
    help: 'Matching events a webhook sink has not delivered yet (counted up to 1000), by sink id',
    labelNames: ['sink'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { sink, events } of await readLags()) this.set({ sink }, events);
    },
  });
  new client.Gauge({
    name: 'auditor_sink_lag_seconds',
    help: 'Age of the oldest matching event a webhook sink has not delivered yet (0 when it is caught up), by sink id',
    labelNames: ['sink'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { sink, seconds } of await readLags()) this.set({ sink }, seconds);
    },
  });

  return {
    registry,
    observeRequest,
    eventsIngested: (count) => ingested.inc(count),
    batchCommitted: (events) => batches.observe(events),
    clockBehindLog: (seconds) => clockBehind.set(seconds),
    checkpointSigned(size, createdMs) {
      checkpointSize.set(size);
      checkpointTime.set(createdMs / 1000);
    },
    protocolError: (status, code) => protocolErrors.inc({ status: String(status), code }),
    payloadsRemoved: (reason, count) => removed.inc({ reason }, count),
    retentionRun(outcome, atMs) {
      retentionRuns.inc({ outcome });
      if (outcome === 'completed') retentionCompleted.set(atMs / 1000);
    },
    streamEnded: (reason) => streamsEnded.inc({ reason }),
    sinkDelivery: (outcome) => deliveries.inc({ outcome }),
  };
}
