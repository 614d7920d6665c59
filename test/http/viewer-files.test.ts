import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { VIEWER_CSP } from '../../src/routes/get-viewer.js';
import { parseRawResponse, rawExchange } from '../helpers/raw-http.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/** What npm run build wrote (scripts/build-viewer.mjs), as the service should serve it. */
const ASSETS = new URL('../../viewer/assets/', import.meta.url);
const builtAsset = (name: string): string => readFileSync(new URL(name, ASSETS), 'utf8');
const [SCRIPT, STYLE] = ['.js', '.css'].map((extension) => {
  const names = readdirSync(ASSETS).filter((name) => name.endsWith(extension));
  assert.equal(names.length, 1, `one ${extension} file built, not ${names.join(', ')}`);
  return names[0]!;
}) as [string, string];

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

describe(`the web viewer's page and files (${TEST_BACKEND})`, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('exports the policy the task sets, word for word', () => {
    assert.equal(VIEWER_CSP, CSP);
  });

  it('serves the page at / without a key: HTML, revalidated each visit, under a strict CSP, naming its hashed assets', async () => {
    const response = await fetch(`${server.url}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(response.headers.get('cache-control'), 'no-cache');
    assert.equal(response.headers.get('content-security-policy'), CSP);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    const html = await response.text();
    assert.match(SCRIPT, /^main-[A-Z0-9]{8}\.js$/);
    assert.match(STYLE, /^viewer-[A-Z0-9]{8}\.css$/);
    assert.ok(html.includes(`<script type="module" src="ui/${SCRIPT}"></script>`), html);
    assert.ok(html.includes(`<link rel="stylesheet" href="ui/${STYLE}">`), html);
    // Nothing inline, which the policy would refuse: every script has a src, and no element a style.
    assert.deepEqual(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g), null);
    assert.deepEqual(html.match(/\bstyle=|<style/g), null);
  });

  for (const [name, type] of [[() => SCRIPT, 'text/javascript; charset=utf-8'], [() => STYLE, 'text/css; charset=utf-8']] as const) {
    it(`serves ${type.split(';')[0]} under its hashed name without a key, cached for a year as immutable`, async () => {
      const response = await fetch(`${server.url}/ui/${name()}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), type);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(response.headers.get('content-security-policy'), CSP);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(await response.text(), builtAsset(name()));
    });
  }

  it('answers HEAD on the page and an asset with the GET headers and no body', async () => {
    for (const path of ['/', `/ui/${SCRIPT}`]) {
      const [get, head] = await Promise.all([fetch(`${server.url}${path}`), fetch(`${server.url}${path}`, { method: 'HEAD' })]);
      assert.equal(head.status, 200);
      for (const header of ['content-type', 'cache-control', 'content-security-policy', 'content-length', 'content-encoding']) {
        assert.equal(head.headers.get(header), get.headers.get(header), `${path}: ${header}`);
      }
      assert.equal(await head.text(), '');
      await get.arrayBuffer();
    }
  });

  it('keeps the data behind a key, and never cached', async () => {
    const refused = await fetch(`${server.url}/events?limit=1`);
    assert.equal(refused.status, 401);
    assert.match(await errorMessage(refused), /key/i);
    const answered = await fetch(`${server.url}/events?limit=1`, { headers: { 'X-API-Key': TEST_API_KEY } });
    assert.equal(answered.status, 200);
    assert.equal(answered.headers.get('cache-control'), 'no-store');
    assert.equal(answered.headers.get('content-security-policy'), null);
    assert.deepEqual(await answered.json(), []);
  });

  it('answers 404 JSON for a name that is not a built asset', async () => {
    for (const name of ['nothing.js', 'main.js', SCRIPT.toLowerCase(), `${SCRIPT}.map`, 'index.html', '%00']) {
      const response = await fetch(`${server.url}/ui/${name}`);
      assert.equal(response.status, 404, name);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.match(await errorMessage(response), /^No such file of the web viewer: /, name);
    }
    const folder = await fetch(`${server.url}/ui/`);
    assert.equal(folder.status, 404);
    assert.equal(await errorMessage(folder), 'No such endpoint: /ui/');
  });

  it('serves nothing outside the built assets, however the path climbs', async () => {
    // Raw requests: fetch would resolve the dots itself before sending.
    const targets = [
      '/ui/../openapi.json',
      '/ui/../../package.json',
      '/ui/..%2f..%2fpackage.json',
      '/ui/%2e%2e%2f%2e%2e%2fpackage.json',
      '/ui/%2e%2e',
      '/ui/..',
      `/ui/%2e%2e%2fassets%2f${SCRIPT}`,
      `/ui/.%2f${SCRIPT}`,
      '/ui/%2fetc%2fpasswd',
      '/ui//etc/passwd',
      '/ui/C:%5cWindows%5cwin.ini',
      `/ui/assets/${SCRIPT}`,
      `/ui/%2e%2e%2fviewer%2findex.html`,
    ];
    for (const target of targets) {
      const answer = parseRawResponse(await rawExchange(server.url, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      assert.equal(answer.statusLine, 'HTTP/1.1 404 Not Found', target);
      assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8', target);
      const { message } = JSON.parse(answer.body) as { message: string };
      assert.match(message, /^(No such file of the web viewer|No such endpoint): /, target);
    }
  });

  it('answers 405 with Allow for a method other than GET or HEAD', async () => {
    const response = await fetch(`${server.url}/`, { method: 'POST', body: '' });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET, HEAD');
    assert.equal(await errorMessage(response), 'POST is not allowed on /; use GET, HEAD');
  });
});
