import type { Server } from 'node:http';
import { createHttpServer } from '../http/create-http-server.js';
import { createRouter } from '../http/router.js';
import { createGetMetricsRoute } from '../routes/get-metrics.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * A second listener that serves GET /metrics alone, without a key: for a Prometheus that scrapes
 * over a private network (AUDITOR_METRICS_PORT). A route table of one route, on the same router
 * as the main port, so its errors, headers, request ids, log lines and counts are the same.
 */
export function createMetricsServer(metrics: Metrics, log: Logger): Server {
  const routes = { '/metrics': { GET: { scope: 'public' as const, handle: createGetMetricsRoute(metrics) } } };
  return createHttpServer(createRouter(routes, { log, metrics }), { log, metrics });
}
