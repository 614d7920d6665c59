import type { RouteHandler } from '../http/route.js';
import type { Metrics } from '../ops/metrics.js';

/** GET /metrics: every metric in the Prometheus text format. */
export function createGetMetricsRoute(metrics: Metrics): RouteHandler {
  return async () => ({ status: 200, contentType: metrics.registry.contentType, chunks: once(await metrics.registry.metrics()) });
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}
