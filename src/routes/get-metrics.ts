import type { RouteHandler } from '../http/route.js';
import type { Metrics } from '../ops/metrics.js';

/** GET /metrics: every metric in the Prometheus text format, sent whole (with its length). */
export function createGetMetricsRoute(metrics: Metrics): RouteHandler {
  return async () => ({ status: 200, contentType: metrics.registry.contentType, text: await metrics.registry.metrics() });
}
