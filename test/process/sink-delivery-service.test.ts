/**
 * Webhook delivery against the service as a user runs it: a `kill -9` in the middle of deliveries
 * loses no event; after the restart the sink goes on from its cursor in the database.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startService, type ServiceProcess } from '../helpers/service-process.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const KEY = 'sink-process-key-0123456789';

async function post(url: string, n: number): Promise<string> {
  const response = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: 'delivered', event_type: 'step', data: { n } }),
  });
  assert.equal(response.status, 201);
  return ((await response.json()) as { id: string }).id;
}

describe('webhook delivery, the service process', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'auditor-sink-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loses no event across a kill -9 in the middle of deliveries, and goes on from its cursor after the restart', async () => {
    const env = {
      AUDITOR_DB: join(dir, 'auditor.db'), AUDITOR_API_KEY: KEY,
      AUDITOR_SINK_BATCH_SIZE: '5', AUDITOR_SINK_BATCH_WAIT: '0s', AUDITOR_SINK_TIMEOUT: '2s',
    };
    // A receiver that fails twice, then takes a while over every delivery (so that one is in flight when the service dies).
    const receiver = await startWebhookReceiver([503, 503]);
    let service: ServiceProcess = await startService(env);
    try {
      const created = await fetch(`${service.url}/sinks`, {
        method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: receiver.url, filters: { user_id: ['delivered'] } }),
      });
      assert.equal(created.status, 201);
      receiver.secret = ((await created.json()) as { secret: string }).secret;

      const acknowledged: string[] = [];
      for (let n = 0; n < 30; n++) acknowledged.push(await post(service.url, n));
      await receiver.waitForAccepted(5); // delivering, and far from done
      service.child.kill('SIGKILL');
      await service.exited;
      service = await startService(env);
      for (let n = 30; n < 40; n++) acknowledged.push(await post(service.url, n));

      // Every event accepted at least once (a batch may come twice: count each event once).
      for (const started = Date.now(); new Set(receiver.accepted()).size < 40;) {
        if (Date.now() - started > 30_000) throw new Error(`${new Set(receiver.accepted()).size} of 40 events accepted within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const accepted = receiver.accepted();
      // At least once: a batch whose 2xx the dead service never recorded comes again; nothing is missing, and the order holds.
      const firstSeen = accepted.filter((id, index) => accepted.indexOf(id) === index);
      assert.deepEqual(firstSeen, acknowledged);
      assert.ok(accepted.length - firstSeen.length <= 5, `at most the batch in flight is sent twice (${accepted.length - firstSeen.length} were)`);
      assert.ok(receiver.deliveries.every((delivery) => delivery.verified));
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
      await receiver.close();
    }
  });
});
