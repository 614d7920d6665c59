import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('POST /events', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ maxBodyBytes: 4096 });
  });
  after(() => server.close());

  async function expectRejected(response: Response, status: number, message: RegExp): Promise<void> {
    assert.equal(response.status, status);
    assert.match(await errorMessage(response), message);
  }

  it('answers 201 with a message and a UUIDv7 id', async () => {
    const response = await server.post({ user_id: 'post-ok', event_type: 'login', data: { ip: '10.0.0.1' } });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['message', 'id']);
    assert.equal(body.message, 'Event recorded');
    assert.match(String(body.id), UUID_V7);
  });

  it('returns data exactly as sent: unicode, nesting, number spelling, nulls, arrays', async () => {
    const data =
      '{"name":"Zoë 😀 \\u00e9 \\"q\\"","n":1.50,"big":12345678901234567890,"e":-1E+2,"none":null,' +
      '"list":[1,"two",[3],{"four":4},true,false,null],"deep":{"a":{"b":{"c":[]}}},"empty":"","\\u0001":"soh"}';
    const posted = await server.post(`{ "user_id": "roundtrip", "event_type": "t", "data": ${data.replace(/,/g, ' ,\n ')} }`);
    assert.equal(posted.status, 201);
    const response = await server.get('user_id=roundtrip');
    const text = await response.text();
    assert.ok(text.includes(`"data":${data}}`), text);
    const [event] = JSON.parse(text) as Array<{ data: unknown }>;
    assert.deepEqual(event!.data, JSON.parse(data));
  });

  it('refuses, storing nothing, what no supported database can hold unchanged: U+0000, unpaired surrogates', async () => {
    for (const body of ['{"user_id":"nul\\u0000","event_type":"t"}', '{"user_id":"nul","event_type":"t","data":{"k":"\\ud800"}}']) {
      const response = await server.post(body);
      assert.equal(response.status, 400, body);
      assert.match(await errorMessage(response), /U\+0000|well-formed Unicode/);
    }
    assert.equal(await server.database.countEvents('nul'), 0);
  });

  it('accepts data nested 64 levels deep, counted from data itself, and refuses 65 with a message naming 64', async () => {
    // nested(1) is {}: data itself is level 1, as the README counts.
    const nested = (levels: number): string => '{"a":'.repeat(levels - 1) + '[]' + '}'.repeat(levels - 1);
    const accepted = await server.post(`{"user_id":"nesting","event_type":"t","data":${nested(64)}}`);
    assert.equal(accepted.status, 201);
    const refused = await server.post(`{"user_id":"nesting","event_type":"t","data":${nested(64).replace('[]', '[[]]')}}`);
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await refused.json(), { message: 'data is nested more than 64 levels deep (data itself is level 1): flatten it' });
    const [event, ...others] = (await (await server.get('user_id=nesting')).json()) as Array<{ data: unknown }>;
    assert.deepEqual([event!.data, others], [JSON.parse(nested(64)), []]);
  });

  it('stores a missing data as {}', async () => {
    assert.equal((await server.post({ user_id: 'no-data', event_type: 't' })).status, 201);
    const [event] = (await (await server.get('user_id=no-data')).json()) as Array<{ data: unknown }>;
    assert.deepEqual(event!.data, {});
  });

  it('reads a body without a content type as JSON, and accepts JSON media types with UTF-8', async () => {
    for (const contentType of [undefined, 'application/json', 'Application/JSON; charset=UTF-8', 'application/vnd.api+json']) {
      const response = await fetch(`${server.url}/events`, {
        method: 'POST',
        headers: { 'X-API-Key': 'test-key-0123456789abcdef', ...(contentType ? { 'Content-Type': contentType } : {}) },
        body: new TextEncoder().encode('{"user_id":"ctype","event_type":"t"}'),
      });
      assert.equal(response.status, 201, String(contentType));
    }
  });

  it('refuses each kind of bad body with a 400 that says what is wrong', async () => {
    await expectRejected(await server.post('{"user_id": "x",'), 400, /^Request body is not valid JSON/);
    await expectRejected(await server.post(''), 400, /body is empty/);
    await expectRejected(await server.post('[{"user_id":"x","event_type":"t"}]'), 400, /must be a JSON object/);
    await expectRejected(await server.post({ event_type: 't' }), 400, /^user_id is required$/);
    await expectRejected(await server.post({ user_id: 'x' }), 400, /^event_type is required$/);
    await expectRejected(await server.post({ user_id: 1, event_type: 't' }), 400, /^user_id must be a string$/);
    await expectRejected(await server.post({ user_id: 'x', event_type: '' }), 400, /^event_type must not be empty$/);
    await expectRejected(await server.post({ user_id: 'x', event_type: 't', data: [] }), 400, /data must be a JSON object/);
    await expectRejected(await server.post({ user_id: 'x', event_type: 't', timestamp: 'now' }), 400, /Unknown property "timestamp"/);
    await expectRejected(await server.post('{"user_id":"x","event_type":"t","data":{"a":1,"a":2}}'), 400, /duplicate property "a"/);
    // The service's own records: a client's event may not pass for a retention run or an erasure.
    await expectRejected(await server.post({ user_id: 'auditor', event_type: 'auditor.erasure', data: { pseudonym: 'x' } }), 400, /^event_type must not begin with "auditor\.": those are the service's own records/);
    const batch = await fetch(`${server.url}/events/batch`, {
      method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify([{ user_id: 'x', event_type: 't' }, { user_id: 'x', event_type: 'auditor.hold' }]),
    });
    assert.equal(batch.status, 400);
    assert.match(((await batch.json()) as { errors: Array<{ message: string }> }).errors[0]!.message, /must not begin with "auditor\."/);
  });

  it('refuses a body that is not UTF-8 with 400', async () => {
    const response = await server.post(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]));
    await expectRejected(response, 400, /not valid UTF-8/);
  });

  it('refuses a non-JSON content type with 415, and a non-UTF-8 charset too', async () => {
    const body = JSON.stringify({ user_id: 'ctype-bad', event_type: 't' });
    await expectRejected(await server.post(body, { 'Content-Type': 'text/plain' }), 415, /must be application\/json/);
    await expectRejected(
      await server.post(body, { 'Content-Type': 'application/x-www-form-urlencoded' }),
      415,
      /add -H 'Content-Type: application\/json'/,
    );
    await expectRejected(await server.post(body, { 'Content-Type': 'application/json; charset=latin1' }), 415, /UTF-8/);
    assert.equal(await (await server.get('user_id=ctype-bad')).text(), '[]');
  });

  it('reads charset=utf8 and charset=us-ascii as UTF-8, in any case and quoted', async () => {
    for (const charset of ['utf8', 'UTF8', 'us-ascii', 'US-ASCII', '"utf-8"']) {
      const body = JSON.stringify({ user_id: 'ctype-utf8', event_type: charset, data: { city: 'Zürich' } });
      const response = await server.post(body, { 'Content-Type': `application/json; charset=${charset}` });
      assert.equal(response.status, 201, charset);
    }
    const stored = (await (await server.get('user_id=ctype-utf8')).json()) as Array<{ event_type: string; data: { city: string } }>;
    assert.deepEqual(stored.map((event) => [event.event_type, event.data.city]), [
      ['utf8', 'Zürich'], ['UTF8', 'Zürich'], ['us-ascii', 'Zürich'], ['US-ASCII', 'Zürich'], ['"utf-8"', 'Zürich'],
    ]);
  });

  it('refuses a body over the limit with 413 and closes the connection instead of reading it', async () => {
    const body = JSON.stringify({ user_id: 'too-big', event_type: 't', data: { pad: 'x'.repeat(5000) } });
    const response = await server.post(body);
    assert.equal(response.headers.get('connection'), 'close');
    await expectRejected(response, 413, /larger than the limit of 4096 bytes/);

    // Streamed without a Content-Length, the limit is enforced while reading.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    });
    const chunked = await fetch(`${server.url}/events`, {
      method: 'POST',
      headers: { 'X-API-Key': 'test-key-0123456789abcdef' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expectRejected(chunked, 413, /larger than the limit/);
    assert.equal(await (await server.get('user_id=too-big')).text(), '[]');
  });

  it('answers arbitrary bodies with 201 or a 4xx, never a 5xx, and stores nothing it refused', async () => {
    const body = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.json(),
      fc.record({ user_id: fc.jsonValue(), event_type: fc.jsonValue(), data: fc.jsonValue() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.record({ user_id: fc.string(), event_type: fc.string(), data: fc.dictionary(fc.string(), fc.jsonValue()) }).map((v) => JSON.stringify(v)),
    );
    const rowsBefore = await server.database.countEvents();
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const response = await server.post(text);
        assert.ok(response.status === 201 || (response.status >= 400 && response.status < 500), `${response.status} for ${text}`);
        if (response.status === 201) accepted++;
        else await errorMessage(response);
      }),
      { numRuns: 300 },
    );
    assert.ok(accepted > 0, 'some generated bodies were valid events');
    assert.equal((await server.database.countEvents()) - rowsBefore, accepted, 'one row per 201, none for a refusal');
  });
});
