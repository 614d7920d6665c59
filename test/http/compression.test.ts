import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { chooseCoding, COMPRESS_MIN_CHARS } from '../../src/http/compression.js';
import { createMemoryBudget } from '../../src/http/memory-budget.js';
import { CHUNK_SIZE } from '../../src/store/read-in-chunks.js';
import { WHOLE_ANSWER_SIZE } from '../../src/routes/get-events.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

type RawAnswer = { status: number; headers: IncomingHttpHeaders; body: Buffer };

/** GET `path` with node:http, which (unlike fetch) hands over the bytes as sent, compressed or not. */
function rawGet(url: string, path: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    request(`${url}${path}`, { headers }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(parts) }));
      response.on('error', reject);
    }).on('error', reject).end();
  });
}

function decode(answer: RawAnswer): Buffer {
  switch (answer.headers['content-encoding']) {
    case undefined: return answer.body;
    case 'gzip': return gunzipSync(answer.body);
    case 'br': return brotliDecompressSync(answer.body);
    default: throw new Error(`unexpected coding ${answer.headers['content-encoding']}`);
  }
}

describe('chooseCoding: Accept-Encoding read as RFC 9110 §12.5.3 says', () => {
  it('picks the coding with the highest q-value, brotli on a tie, none when neither is acceptable', () => {
    const cases: [string | undefined, string | undefined][] = [
      [undefined, undefined],
      ['', undefined],
      ['identity', undefined],
      ['deflate', undefined],
      ['gzip', 'gzip'],
      ['x-gzip', 'gzip'],
      ['GZIP, deflate', 'gzip'],
      ['br', 'br'],
      ['gzip, deflate, br', 'br'],
      ['br;q=0.5, gzip', 'gzip'],
      ['br;q=1.0, gzip;q=0.9', 'br'],
      ['gzip;q=0, br;q=0', undefined],
      ['gzip;q=0', undefined],
      ['*', 'br'],
      ['*;q=0.5, br;q=0.1', 'gzip'],
      ['*, br;q=0', 'gzip'],
      ['*;q=0', undefined],
      ['gzip;q=nonsense', undefined],
      ['gzip ; q=0.3 , br ; q=0.2', 'gzip'],
      [',,;', undefined],
    ];
    for (const [header, expected] of cases) assert.equal(chooseCoding(header), expected, JSON.stringify(header));
  });
});

/** GET /events varies by Origin (CORS is on here), by Accept (its formats) and by Accept-Encoding. */
const EVENTS_VARY = 'Origin, Accept, Accept-Encoding';

describe(`compressed answers (${TEST_BACKEND})`, () => {
  let server: TestServer;
  const key = { 'X-API-Key': TEST_API_KEY };

  before(async () => {
    server = await startTestServer({ corsOrigins: ['https://audit.example.com'] });
    for (let n = 0; n < 30; n++) assert.equal((await server.post({ user_id: 'whole', event_type: 'login', data: { n, ip: '10.0.0.1', agent: 'Mozilla/5.0' } })).status, 201);
    // A user whose answer is too large to be sent whole: it is streamed through the encoder.
    const pad = 'p'.repeat(8 * 1024);
    const batch = Array.from({ length: Math.ceil((3 * WHOLE_ANSWER_SIZE) / pad.length) }, (_, n) => ({ user_id: 'streamed', event_type: 't', data: { n, pad } }));
    const stored = await fetch(`${server.url}/events/batch`, { method: 'POST', headers: { ...key, 'Content-Type': 'application/json' }, body: JSON.stringify(batch) });
    assert.equal(stored.status, 201);
  });
  after(() => server.close());

  it('sends a whole answer gzip- or brotli-coded, with its coded length, decoding to the very bytes sent uncoded', async () => {
    for (const accept of ['application/json', 'text/csv', 'application/x-ndjson']) {
      const plain = await rawGet(server.url, '/events?user_id=whole', { ...key, Accept: accept });
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.ok(plain.body.length >= COMPRESS_MIN_CHARS, `${accept}: ${plain.body.length} bytes, too few to be compressed`);
      for (const coding of ['gzip', 'br']) {
        const coded = await rawGet(server.url, '/events?user_id=whole', { ...key, Accept: accept, 'Accept-Encoding': coding });
        assert.equal(coded.status, 200);
        assert.equal(coded.headers['content-encoding'], coding, accept);
        assert.equal(coded.headers.vary, EVENTS_VARY);
        assert.equal(Number(coded.headers['content-length']), coded.body.length);
        assert.ok(coded.body.length < plain.body.length / 3, `${accept} ${coding}: ${coded.body.length} of ${plain.body.length} bytes`);
        assert.ok(decode(coded).equals(plain.body), `${accept} ${coding}: decodes to the uncoded answer`);
      }
    }
  });

  it('streams an export through the encoder, decoding to the very bytes sent uncoded', async () => {
    for (const accept of ['application/x-ndjson', 'text/csv', 'application/json']) {
      const plain = await rawGet(server.url, '/events?user_id=streamed', { ...key, Accept: accept });
      assert.equal(plain.headers['transfer-encoding'], 'chunked', `${accept}: streamed`);
      for (const coding of ['gzip', 'br']) {
        const coded = await rawGet(server.url, '/events?user_id=streamed', { ...key, Accept: accept, 'Accept-Encoding': coding });
        assert.equal(coded.status, 200);
        assert.equal(coded.headers['content-encoding'], coding);
        assert.equal(coded.headers['content-length'], undefined);
        assert.equal(coded.headers.vary, EVENTS_VARY);
        assert.ok(coded.body.length < plain.body.length / 10, `${accept} ${coding}: ${coded.body.length} of ${plain.body.length} bytes`);
        assert.ok(decode(coded).equals(plain.body), `${accept} ${coding}: decodes to the uncoded answer`);
      }
    }
  });

  it('sends uncoded what the client does not accept coded, and what is too short to gain from it', async () => {
    for (const acceptEncoding of [undefined, 'identity', 'deflate', 'gzip;q=0, br;q=0', '*;q=0']) {
      const headers: Record<string, string> = acceptEncoding === undefined ? key : { ...key, 'Accept-Encoding': acceptEncoding };
      const answer = await rawGet(server.url, '/events?user_id=whole', headers);
      assert.equal(answer.headers['content-encoding'], undefined, String(acceptEncoding));
      assert.equal(answer.headers.vary, EVENTS_VARY, 'the same URL is coded for others');
      assert.equal(JSON.parse(answer.body.toString()).length, 30);
    }
    const short = await rawGet(server.url, '/events?user_id=whole&limit=1', { ...key, 'Accept-Encoding': 'gzip, br' });
    assert.ok(short.body.length < COMPRESS_MIN_CHARS);
    assert.equal(short.headers['content-encoding'], undefined);
    const refused = await rawGet(server.url, '/events?user_id=whole', { 'Accept-Encoding': 'gzip, br' });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['content-encoding'], undefined, 'an error is short, and sent as it is');
  });

  it('codes the signed checkpoint and the OpenAPI document too, byte for byte once decoded', async () => {
    await server.post({ user_id: 'whole', event_type: 'login', data: { n: 30 } });
    for (const path of ['/checkpoint', '/checkpoint/key', '/openapi.json']) {
      const plain = await rawGet(server.url, path, key);
      assert.equal(plain.status, 200, path);
      const coded = await rawGet(server.url, path, { ...key, 'Accept-Encoding': 'gzip' });
      assert.ok(decode(coded).equals(plain.body), path);
      assert.equal(coded.headers['content-encoding'], plain.body.length >= COMPRESS_MIN_CHARS ? 'gzip' : undefined, path);
    }
  });

  it('adds Accept-Encoding to the Vary that CORS and the formats set, rather than replacing it', async () => {
    const answer = await rawGet(server.url, '/events?user_id=whole', { ...key, Origin: 'https://audit.example.com', 'Accept-Encoding': 'gzip' });
    assert.equal(answer.headers['access-control-allow-origin'], 'https://audit.example.com');
    assert.equal(answer.headers.vary, EVENTS_VARY);
    assert.equal(answer.headers['content-encoding'], 'gzip');
  });

  it('answers HEAD with the headers of the coded GET, and no body', async () => {
    for (const path of ['/events?user_id=whole', '/events?user_id=streamed']) {
      const headers = { ...key, 'Accept-Encoding': 'gzip' };
      const get = await rawGet(server.url, path, headers);
      const head = await new Promise<RawAnswer>((resolve, reject) => {
        request(`${server.url}${path}`, { method: 'HEAD', headers }, (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.alloc(0) }));
        }).on('error', reject).end();
      });
      assert.equal(head.status, 200);
      for (const name of ['content-encoding', 'content-length', 'vary', 'content-type']) assert.equal(head.headers[name], get.headers[name], `${path} ${name}`);
    }
  });
});

describe(`compressed streams and the answers' memory (${TEST_BACKEND})`, () => {
  it('sends a stream uncoded when the budget has no room for its encoder, and holds nothing after', async () => {
    // Room for one chunk of events and no more: the encoder's ENCODER_BYTES do not fit beside it.
    const budget = createMemoryBudget(CHUNK_SIZE);
    const server = await startTestServer({ responseMemory: budget });
    try {
      const pad = 'p'.repeat(8 * 1024);
      const batch = Array.from({ length: Math.ceil((2 * WHOLE_ANSWER_SIZE) / pad.length) }, (_, n) => ({ user_id: 'streamed', event_type: 't', data: { n, pad } }));
      const stored = await fetch(`${server.url}/events/batch`, { method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(batch) });
      assert.equal(stored.status, 201);
      const answer = await rawGet(server.url, '/events?user_id=streamed', { 'X-API-Key': TEST_API_KEY, Accept: 'application/x-ndjson', 'Accept-Encoding': 'gzip, br' });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-encoding'], undefined);
      assert.equal(answer.headers.vary, 'Accept, Accept-Encoding');
      assert.equal(answer.body.toString().trimEnd().split('\n').length, batch.length);
      assert.equal(budget.reserved(), 0);
    } finally {
      await server.close();
    }
  });
});
