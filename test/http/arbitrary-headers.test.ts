import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';

/** Header values fetch will send: visible ASCII and spaces, not starting or ending with a space. */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 })
  .map((value) => value.trim());
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/);

describe('arbitrary headers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('answer 2xx or a JSON 4xx, never a 5xx, and store an event only for a first 201', async () => {
    const interesting = fc.record(
      {
        'X-API-Key': fc.oneof(fc.constant(TEST_API_KEY), headerValue),
        'Content-Type': fc.oneof(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x+json; charset=latin1'), headerValue),
        Accept: fc.oneof(fc.constantFrom('*/*', 'text/csv', 'application/x-ndjson', 'text/html;q=0.5'), headerValue),
        'Idempotency-Key': headerValue,
        'Content-Encoding': headerValue,
        'Transfer-Encoding': fc.constantFrom('identity', 'gzip'),
      },
      { requiredKeys: [] },
    );
    const extra = fc.dictionary(headerName, headerValue, { maxKeys: 5 });
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(interesting, extra, fc.constantFrom('GET', 'POST'), async (headers, more, method) => {
        const all: Record<string, string> = { ...more, ...headers };
        let response: Response;
        try {
          response = await fetch(`${server.url}/events?user_id=fuzz`, {
            method,
            headers: all,
            ...(method === 'POST' ? { body: '{"user_id":"fuzz","event_type":"t"}' } : {}),
          });
        } catch {
          return; // fetch itself refused the headers (such as a Transfer-Encoding it will not send)
        }
        assert.ok(response.status < 500, `${response.status} for ${JSON.stringify(all)}`);
        if (response.status >= 400) await errorMessage(response);
        else await response.arrayBuffer();
        if (method === 'POST' && response.status === 201 && response.headers.get('idempotent-replayed') === null) stored++;
        assert.equal(await server.database.countEvents(), stored, 'only first 201s store an event');
      }),
      // A plain valid POST always runs too (random headers alone rarely make one), so the
      // count of stored events is checked against at least one 201.
      { numRuns: 300, examples: [[{ 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' }, {}, 'POST']] },
    );
    assert.ok(stored > 0, 'the valid requests were stored');
    assert.equal((await server.get('user_id=fuzz')).status, 200, 'still serving');
  });
});
