import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createHttpServer } from '../../src/http/create-http-server.js';
import { createRouteMatcher } from '../../src/http/route-matcher.js';
import type { Route, RouteHandler, RouteTable } from '../../src/http/route.js';
import { createRouter } from '../../src/http/router.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { silentLogger } from '../../src/ops/logger.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable.js';

/** Answers which route it is and the path parameters it was given. */
const echo = (name: string): Route => ({
  scope: 'public',
  handle: async (_request, { pathParams }) => ({ status: 200, body: { route: name, pathParams } }),
});

const noop: RouteHandler = async () => ({ status: 204, body: null });

describe('the route matcher', () => {
  // The literal pattern is declared after the parameter on purpose: specificity, not order, decides.
  const match = createRouteMatcher({
    '/things/{name}': { GET: echo('one thing') },
    '/things/{name}/parts/{part}': { GET: echo('a part') },
    '/things/special': { GET: echo('the special thing') },
    '/things/{name}/{aspect}': { GET: echo('an aspect') },
    '/things/{name}/special': { GET: echo('a special part') },
    '/things': { GET: echo('all things') },
  });

  it('takes each parameter from its segment, percent-decoded, by the name the pattern gives it', () => {
    assert.deepEqual(match('/things/a%20b')?.pathParams, { name: 'a b' });
    assert.deepEqual(match('/things/a%2Fb/parts/7')?.pathParams, { name: 'a/b', part: '7' });
    assert.equal(match('/things/a%2Fb/parts/7')?.pattern, '/things/{name}/parts/{part}');
    assert.deepEqual(match('/things')?.pathParams, {});
  });

  it('prefers a literal segment to a parameter, whatever the order of the table', () => {
    assert.equal(match('/things/special')?.pattern, '/things/special');
    assert.equal(match('/things/x/special')?.pattern, '/things/{name}/special');
    assert.equal(match('/things/x/colour')?.pattern, '/things/{name}/{aspect}');
    assert.equal(match('/things/specia')?.pattern, '/things/{name}');
  });

  it('matches nothing for an empty or undecodable segment, another number of segments, or another spelling', () => {
    for (const path of ['/things/', '/things//parts/1', '/things/%E0%A4%A', '/things/a/b/c', '/things/a/parts/1/2', '/THINGS', '/th%69ngs', '//things', '', '*']) {
      assert.equal(match(path), undefined, path);
    }
  });

  it('refuses a malformed pattern when the table is made', () => {
    assert.throws(() => createRouteMatcher({ 'things': {} }), /must start with \//);
    assert.throws(() => createRouteMatcher({ '/things/{a}{b}': {} }), /a parameter is a whole segment/);
    assert.throws(() => createRouteMatcher({ '/things/{id}/{id}': {} }), /names \{id\} twice/);
  });
});

describe('an app made of a route table', () => {
  async function serve(table: RouteTable, t: { after(fn: () => unknown): void }): Promise<{ url: string; metrics: ReturnType<typeof createMetrics> }> {
    const metrics = createMetrics();
    const server = createHttpServer(createRouter(table, { log: silentLogger, metrics }), { log: silentLogger, metrics });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, metrics };
  }

  it('hands a route with a path parameter its decoded value, and counts the request by the pattern', async (t) => {
    const { url, metrics } = await serve({ '/things/{name}': { GET: echo('one thing') } }, t);
    const response = await fetch(`${url}/things/caf%C3%A9`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await response.json(), { route: 'one thing', pathParams: { name: 'café' } });
    const missing = await fetch(`${url}/things/`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { message: 'No such endpoint: /things/' });
    const wrong = await fetch(`${url}/things/x`, { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    assert.deepEqual(await wrong.json(), { message: 'DELETE is not allowed on /things/x; use GET, HEAD' });
    const text = await metrics.registry.metrics();
    assert.match(text, /^auditor_http_requests_total\{route="\/things\/\{name\}",method="GET",status="200"\} 1$/m);
    assert.match(text, /^auditor_http_requests_total\{route="\/things\/\{name\}",method="DELETE",status="405"\} 1$/m);
    assert.match(text, /^auditor_http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
  });

  it('answers a store failure in a route that declared no store use 503 all the same, with a message that claims nothing', async (t) => {
    const refusing: Route = { scope: 'public', handle: () => Promise.reject(new StoreUnavailableError('the database is down')) };
    const { url } = await serve({ '/undeclared': { GET: refusing } }, t);
    const response = await fetch(`${url}/undeclared`);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '1');
    assert.deepEqual(await response.json(), { message: 'The database is unavailable; retry later' });
  });

  it('refuses, when it is made, a route that needs a key in an app that checks none', () => {
    assert.throws(
      () => createRouter({ '/secret': { GET: { scope: 'admin', handle: noop } } }, { log: silentLogger }),
      /^Error: GET \/secret needs a key, and this app checks none$/,
    );
  });
});
