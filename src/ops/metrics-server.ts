import type { Server } from 'node:http';
import { createHttpServer } from '../http/create-http-server.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * A second listener that serves GET /metrics alone, without a key: for a Prometheus that scrapes
 * over a private network (AUDITOR_METRICS_PORT). Everything else there is a JSON 404.
 */
export function createMetricsServer(metrics: Metrics, log: Logger): Server {
  return createHttpServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      const body = JSON.stringify({ message: 'This port serves GET /metrics only' });
      response.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
        response.end(text);
      },
      () => {
        response.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
        response.end('{"message":"Internal server error"}');
      },
    );
  }, { log, metrics });
}
