import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** What a spreadsheet runs as a formula when a cell starts with it (OWASP's CSV injection list). */
const FORMULA_STARTS = ['=', '+', '-', '@', '\t', '\r'] as const;

describe(`GET /events as CSV, with cells a spreadsheet would run (${TEST_BACKEND})`, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  for (const start of FORMULA_STARTS) {
    it(`neutralises a user_id and an event_type that start with ${JSON.stringify(start)}: the cell read back is the value after an apostrophe`, async () => {
      const userId = `${start}HYPERLINK("http://x","y")`;
      const eventType = `${start}cmd|' /C calc'!A0`;
      const posted = await server.post({ user_id: userId, event_type: eventType, data: { note: `${start}1` } });
      assert.equal(posted.status, 201);
      const { id } = (await posted.json()) as { id: string };
      const [stored] = (await (await server.get(`user_id=${encodeURIComponent(userId)}`)).json()) as Array<{ timestamp: string }>;

      const response = await server.get(`user_id=${encodeURIComponent(userId)}`, { Accept: 'text/csv' });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/csv; charset=utf-8; header=present');
      assert.deepEqual(parseCsv(await response.text()), [
        ['id', 'timestamp', 'user_id', 'event_type', 'data'],
        [id, stored!.timestamp, `'${userId}`, `'${eventType}`, `{"note":${JSON.stringify(`${start}1`)}}`],
      ]);
    });
  }
});
