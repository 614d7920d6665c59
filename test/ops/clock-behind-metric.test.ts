import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../src/ops/metrics.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer, TEST_API_KEY } from '../helpers/test-server.js';

const START = Date.parse('2030-01-01T00:00:00Z');

async function clockBehind(url: string): Promise<string | undefined> {
  const response = await fetch(`${url}/metrics`, { headers: { 'X-API-Key': TEST_API_KEY } });
  assert.equal(response.status, 200);
  return /^auditor_clock_behind_log_seconds (\S+)$/m.exec(await response.text())?.[1];
}

describe(`the clock behind the log, in GET /metrics (${TEST_BACKEND})`, () => {
  it('is 0 while the clock is ahead of the newest event, and how many seconds it is behind once it is not', async () => {
    let now = START;
    const server = await startTestServer({ metrics: createMetrics(), storeOptions: { clock: () => now } });
    try {
      assert.equal((await server.post({ user_id: 'clock', event_type: 't' })).status, 201);
      assert.equal(await clockBehind(server.url), '0');
      now = START - 2500; // stepped back 2.5 s
      assert.equal((await server.post({ user_id: 'clock', event_type: 't' })).status, 201);
      assert.equal(await clockBehind(server.url), '2.5');
      now = START + 1;
      assert.equal((await server.post({ user_id: 'clock', event_type: 't' })).status, 201);
      assert.equal(await clockBehind(server.url), '0');
    } finally {
      await server.close();
    }
  });
});
