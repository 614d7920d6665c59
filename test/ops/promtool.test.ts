import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rawExchange } from '../helpers/raw-http.js';
import { startService, type ServiceProcess } from '../helpers/service-process.js';
import { createTestDatabase, TEST_BACKEND, TEST_CHAIN_SECRET, testSigningKeyFile, type TestDatabase } from '../helpers/test-database.js';

const KEY = 'promtool-admin-key-0123456789';

/** promtool on PATH, or where scripts/install-promtool.sh unpacks it for a user other than root. */
function findPromtool(): string | undefined {
  if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error === undefined) return 'promtool';
  const unpacked = fileURLToPath(new URL('../../../.ci/tools/promtool', import.meta.url));
  return existsSync(unpacked) ? unpacked : undefined;
}

/**
 * Skips the test where promtool is not installed, saying how to get it. Under
 * AUDITOR_REQUIRE_PROMTOOL=1, as in CI, fails it instead: a lint that silently does not run
 * would let a metric Prometheus refuses go out.
 */
function skipWithoutPromtool(t: TestContext): void {
  const reason = "promtool is not installed: scripts/install-promtool.sh unpacks it alone from Debian's prometheus package";
  if (process.env.AUDITOR_REQUIRE_PROMTOOL === '1') throw new Error(`${reason}; AUDITOR_REQUIRE_PROMTOOL=1 requires this test to run`);
  t.skip(reason);
}

/** `promtool check metrics` over `text`: its exit code and all it wrote (nothing, when it finds no problem). */
async function checkMetrics(promtool: string, text: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  child.stdin.end(text);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}

/** Sends half a POST body and hangs up; resolves once the service has logged the request. */
async function leaveMidBody(service: ServiceProcess, requestId: string): Promise<void> {
  const { hostname, port } = new URL(service.url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.write(`POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\nX-Request-Id: ${requestId}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"user_id":`);
  socket.destroy();
  await service.waitFor('stdout', new RegExp(`"request_id":"${requestId}"`));
}

describe('promtool check metrics', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let metricsUrl: string;

  before(async () => {
    database = await createTestDatabase();
    const location = database.location;
    service = await startService({
      AUDITOR_API_KEY: KEY,
      AUDITOR_DB: location.kind === 'sqlite' ? location.path : location.url,
      AUDITOR_METRICS_PORT: '0',
      ...(TEST_BACKEND === 'postgres' ? { AUDITOR_CHAIN_SECRET: TEST_CHAIN_SECRET, AUDITOR_SIGNING_KEY_FILE: testSigningKeyFile() } : {}),
    });
    const [, port] = await service.waitFor('stdout', /"msg":"metrics listening".*?"port":(\d+)/);
    metricsUrl = `http://${new URL(service.url).hostname}:${port}`;

    // Traffic of several routes and statuses, so that every labelled series has samples to lint.
    const keyed = { 'X-API-Key': KEY, 'Content-Type': 'application/json' };
    const statuses: number[] = [];
    const send = async (url: string, init: RequestInit = {}): Promise<string> => {
      const response = await fetch(url, init);
      statuses.push(response.status);
      return response.text(); // a streamed read, read whole
    };
    const posted = await send(`${service.url}/events`, { method: 'POST', headers: keyed, body: '{"user_id":"lint","event_type":"login","data":{"n":1}}' });
    await send(`${service.url}/events/${(JSON.parse(posted) as { id: string }).id}`, { headers: { 'X-API-Key': KEY } });
    await send(`${service.url}/events/0190a000-0000-7000-8000-000000000000`, { headers: { 'X-API-Key': KEY } });
    await send(`${service.url}/events/batch`, { method: 'POST', headers: keyed, body: '[{"user_id":"lint","event_type":"a"},{"user_id":"lint","event_type":"b"}]' });
    await send(`${service.url}/events`, { method: 'POST', headers: keyed, body: '{"user_id":' });
    for (const accept of ['application/json', 'application/x-ndjson', 'text/csv']) {
      await send(`${service.url}/events?user_id=lint`, { headers: { 'X-API-Key': KEY, Accept: accept } });
    }
    await send(`${service.url}/events?user_id=lint`);
    await send(`${service.url}/events/summary?group_by=event_type`, { headers: { 'X-API-Key': KEY } });
    await send(`${service.url}/nowhere`);
    await send(`${service.url}/events`, { method: 'DELETE', headers: { 'X-API-Key': KEY } });
    await send(`${service.url}/healthz`);
    await send(`${service.url}/readyz`);
    await send(`${metricsUrl}/nowhere`);
    assert.deepEqual(statuses, [201, 200, 404, 201, 400, 200, 200, 200, 401, 200, 404, 405, 200, 200, 404]);
    assert.match(await rawExchange(service.url, 'NOT HTTP\r\n\r\n'), /^HTTP\/1\.1 400 /);
    await leaveMidBody(service, 'promtool-left-early');
  });

  after(async () => {
    service?.child.kill('SIGTERM');
    await service?.exited;
    await database?.drop();
  });

  it('passes on the main port, for an admin key: exit 0, nothing said', async (t) => {
    const promtool = findPromtool();
    if (promtool === undefined) return skipWithoutPromtool(t);
    const response = await fetch(`${service.url}/metrics`, { headers: { 'X-API-Key': KEY } });
    assert.deepEqual([response.status, response.headers.get('content-type')], [200, 'text/plain; version=0.0.4; charset=utf-8']);
    const text = await response.text();
    // The traffic above is in it: the lint read labelled series, not an empty page.
    assert.match(text, /^auditor_http_requests_total\{route="\/events",method="POST",status="499"\} 1$/m);
    assert.match(text, /^auditor_http_protocol_errors_total\{status="400",code="HPE_INVALID_METHOD"\} 1$/m);
    assert.match(text, /^auditor_http_request_duration_seconds_bucket\{le="\+Inf",route="\/events",method="GET"\} 4$/m);
    assert.match(text, /^nodejs_active_handles\{type="Socket"\} \d+$/m);
    assert.deepEqual(await checkMetrics(promtool, text), { code: 0, output: '' });
  });

  it('passes on the metrics port: exit 0, nothing said', async (t) => {
    const promtool = findPromtool();
    if (promtool === undefined) return skipWithoutPromtool(t);
    const response = await fetch(`${metricsUrl}/metrics`);
    assert.deepEqual([response.status, response.headers.get('content-type')], [200, 'text/plain; version=0.0.4; charset=utf-8']);
    const text = await response.text();
    assert.match(text, /^auditor_http_requests_total\{route="unmatched",method="GET",status="404"\} 2$/m);
    assert.deepEqual(await checkMetrics(promtool, text), { code: 0, output: '' });
  });
});
