import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import client from 'prom-client';
import { registerRequestMetrics } from '../../src/ops/request-metrics.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The same two metrics as prom-client's own Counter and Histogram would keep them. */
function promClientReference(): { registry: client.Registry; observe(route: string, method: string, status: number, seconds: number): void } {
  const registry = new client.Registry();
  const requests = new client.Counter({ name: 'auditor_http_requests_total', help: 'HTTP requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const latency = new client.Histogram({
    name: 'auditor_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer finishing, by route and method',
    labelNames: ['route', 'method'],
    buckets: BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    observe(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      latency.observe({ route, method }, seconds);
    },
  };
}

/** The exposition's lines, sorted: the two keep their series in different orders. */
const lines = async (registry: client.Registry): Promise<string[]> => (await registry.metrics()).split('\n').filter((line) => line !== '').sort();

describe('the request metrics', () => {
  it("write what prom-client's own Counter and Histogram write for the same requests", async () => {
    const observation = fc.record({
      route: fc.constantFrom('/events', '/events/{id}', 'unmatched', '/metrics'),
      method: fc.constantFrom('GET', 'POST', 'DELETE'),
      status: fc.constantFrom(200, 201, 400, 401, 404, 499, 503),
      // Bounds themselves (a bucket counts what is at most its bound), between them, past the last.
      seconds: fc.oneof(fc.constantFrom(0, ...BUCKETS, 7.5), fc.double({ min: 0, max: 10, noNaN: true })),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
        const registry = new client.Registry();
        const observe = registerRequestMetrics(registry, BUCKETS);
        const reference = promClientReference();
        for (const { route, method, status, seconds } of observations) {
          observe(route, method, status, seconds);
          reference.observe(route, method, status, seconds);
        }
        assert.deepEqual(await lines(registry), await lines(reference.registry));
      }),
      { numRuns: 200 },
    );
  });

  it("are cleared by the registry's reset, as prom-client's own are", async () => {
    const registry = new client.Registry();
    const observe = registerRequestMetrics(registry, BUCKETS);
    const reference = promClientReference();
    observe('/events', 'POST', 201, 0.002);
    reference.observe('/events', 'POST', 201, 0.002);
    registry.resetMetrics();
    reference.registry.resetMetrics();
    observe('/events', 'GET', 200, 0.02);
    reference.observe('/events', 'GET', 200, 0.02);
    assert.deepEqual(await lines(registry), await lines(reference.registry));
  });
});
