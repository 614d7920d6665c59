import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../src/ops/metrics.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer, TEST_API_KEY } from '../helpers/test-server.js';

const START = Date.parse('2030-01-01T00:00:00Z');

describe(`the latest checkpoint, in GET /metrics (${TEST_BACKEND})`, () => {
  it('gives the size of the latest signed checkpoint and when it was signed, by the store\'s clock', async () => {
    const now = START + 1234;
    const server = await startTestServer({ metrics: createMetrics(), storeOptions: { clock: () => now, checkpointIntervalMs: 60_000 } });
    try {
      const posted = (await (await server.post({ user_id: 'signed', event_type: 't' })).json()) as { id: string };
      // A proof of the new event has a checkpoint covering it signed at once.
      const proof = await fetch(`${server.url}/events/${posted.id}/proof`, { headers: { 'X-API-Key': TEST_API_KEY } });
      assert.equal(proof.status, 200);
      const text = await (await fetch(`${server.url}/metrics`, { headers: { 'X-API-Key': TEST_API_KEY } })).text();
      assert.equal(/^auditor_checkpoint_size (\S+)$/m.exec(text)?.[1], '1');
      assert.equal(/^auditor_checkpoint_timestamp_seconds (\S+)$/m.exec(text)?.[1], String(now / 1000));
    } finally {
      await server.close();
    }
  });
});
