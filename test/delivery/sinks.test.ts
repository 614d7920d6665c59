import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { errorMessage, startTestServer, TEST_API_KEY, type TestServer } from '../helpers/test-server.js';
import { startWebhookReceiver, type Answer } from '../helpers/webhook-receiver.js';

/** Small numbers, so that backoff and timeouts take milliseconds. */
const FAST = { batchSize: 10, batchWaitMs: 50, timeoutMs: 300, backoffMs: 20, maxBackoffMs: 200 };

type SinkView = { id: string; url: string; filters: Record<string, string[]>; state: string; failures: number; last_error: string | null; lag?: { events: number; seconds: number }; secret?: string };

describe(`webhook sinks (${TEST_BACKEND})`, () => {
  let server: TestServer;
  const call = async (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { 'X-API-Key': TEST_API_KEY, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const addSink = async (url: string, filters?: Record<string, string[]>): Promise<SinkView & { secret: string }> => {
    const response = await call('POST', '/sinks', { url, ...(filters === undefined ? {} : { filters }) });
    assert.equal(response.status, 201, await response.clone().text());
    return (await response.json()) as SinkView & { secret: string };
  };
  const post = async (userId: string, eventType: string, n: number): Promise<string> => {
    const response = await server.post({ user_id: userId, event_type: eventType, data: { n } });
    assert.equal(response.status, 201);
    return ((await response.json()) as { id: string }).id;
  };
  const show = async (id: string): Promise<SinkView> => (await (await call('GET', `/sinks/${id}`)).json()) as SinkView;

  before(async () => {
    server = await startTestServer({ delivery: FAST });
  });
  after(() => server.close());

  it('adds a sink on the record, shows it without its secret, and removes it on the record', async () => {
    const response = await call('POST', '/sinks', { url: 'https://siem.example.com/in', filters: { event_type: ['login', 'logout'], 'data.ip': ['192.0.2.1'] } });
    assert.equal(response.status, 201);
    const sink = (await response.json()) as SinkView & { secret: string };
    assert.match(sink.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(response.headers.get('location'), `/sinks/${sink.id}`);
    assert.deepEqual([sink.url, sink.filters, sink.state], ['https://siem.example.com/in', { event_type: ['login', 'logout'], 'data.ip': ['192.0.2.1'] }, 'active']);

    const listed = ((await (await call('GET', '/sinks')).json()) as { sinks: SinkView[] }).sinks;
    assert.deepEqual(listed.map((one) => one.id), [sink.id]);
    assert.ok(!JSON.stringify(listed).includes(sink.secret.slice(6)), 'the secret is shown once');
    const shown = await show(sink.id);
    assert.deepEqual(shown.lag, { events: 0, events_capped: false, seconds: 0 });
    assert.equal(shown.secret, undefined);

    const removed = await call('DELETE', `/sinks/${sink.id}`);
    assert.equal(removed.status, 200);
    const { record } = (await removed.json()) as { record: string };
    assert.equal((await call('GET', `/sinks/${sink.id}`)).status, 404);
    assert.equal((await call('DELETE', `/sinks/${sink.id}`)).status, 404);
    const records = (await (await server.get('user_id=auditor&order=asc')).json()) as Array<{ id: string; event_type: string; data: Record<string, unknown> }>;
    const added = records.find((event) => event.id === sink.id)!;
    assert.deepEqual([added.event_type, added.data], ['auditor.sink_added', { url: 'https://siem.example.com/in', filters: sink.filters, added_by: 'AUDITOR_API_KEY' }]);
    assert.deepEqual(records.find((event) => event.id === record)!.data, { sink: sink.id, removed_by: 'AUDITOR_API_KEY' });
    assert.ok(!JSON.stringify(records).includes(sink.secret.slice(6)), 'the secret is never in the log');
  });

  it('refuses a sink it could not deliver to, or whose filters mean nothing, with a 400 saying why', async () => {
    for (const [body, pattern] of [
      [{}, /url is required/],
      [{ url: 'ftp://files.example.com/' }, /url must be http or https, not ftp/],
      [{ url: 'https://user:pw@siem.example.com/' }, /url must not hold credentials/],
      [{ url: 'not a url' }, /url is not an absolute URL/],
      [{ url: 'https://a.example/', filters: { event_type: 'login' } }, /filters\.event_type must be an array of 1 to 100 strings/],
      [{ url: 'https://a.example/', filters: { since: ['2026-01-01'] } }, /since is not a parameter of a sink's filters/],
      [{ url: 'https://a.example/', filters: { user_id: ['a', 'b'] } }, /user_id may be given only once/],
      [{ url: 'https://a.example/', secret: 'mine' }, /"secret" is not a member of a sink/],
    ] as const) {
      const response = await call('POST', '/sinks', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(await errorMessage(response), pattern);
    }
    assert.deepEqual(((await (await call('GET', '/sinks')).json()) as { sinks: unknown[] }).sinks, []);
  });

  it('delivers the matching events after its creation in batches, in order, each verified by standardwebhooks', async () => {
    await post('early', 'login', 0); // before the sink: not delivered
    const receiver = await startWebhookReceiver();
    const sink = await addSink(receiver.url, { event_type: ['login'] });
    receiver.secret = sink.secret;
    try {
      const expected: string[] = [];
      for (let n = 1; n <= 25; n++) {
        const id = await post(`u${n}`, n % 5 === 0 ? 'note' : 'login', n);
        if (n % 5 !== 0) expected.push(id);
      }
      assert.deepEqual(await receiver.waitForAccepted(20), expected);
      assert.ok(receiver.deliveries.every((delivery) => delivery.verified), 'every signature verifies');
      assert.ok(receiver.deliveries.every((delivery) => delivery.events.length <= 10), 'no batch above AUDITOR_SINK_BATCH_SIZE');
      assert.equal(receiver.maxConcurrent(), 1);
      for (let waited = 0; (await show(sink.id)).lag!.events > 0 && waited < 2000; waited += 50) await sleep(50);
      const caughtUp = await show(sink.id);
      assert.deepEqual([caughtUp.state, caughtUp.lag!.events, caughtUp.lag!.seconds], ['active', 0, 0]);
    } finally {
      await call('DELETE', `/sinks/${sink.id}`);
      await receiver.close();
    }
  });

  it('retries a receiver that fails, times out and errs, marks it failing meanwhile, and loses nothing once it recovers', async () => {
    const script: Answer[] = [503, 503, 'hang', 500, 502];
    const receiver = await startWebhookReceiver(script);
    const sink = await addSink(receiver.url, { user_id: ['flaky'] });
    receiver.secret = sink.secret;
    try {
      const expected: string[] = [];
      for (let n = 1; n <= 5; n++) expected.push(await post('flaky', 't', n));
      // While it fails, the sink says so.
      for (let waited = 0; (await show(sink.id)).state !== 'failing'; waited += 20) {
        if (waited > 5000) throw new Error('the sink was never shown failing');
        await sleep(20);
      }
      const failing = await show(sink.id);
      assert.ok(failing.failures >= 3);
      assert.match(failing.last_error!, /the receiver (answered 50\d|did not answer within 0\.3 s)/);
      assert.ok(failing.lag!.events > 0);
      for (let n = 6; n <= 30; n++) expected.push(await post('flaky', 't', n));

      assert.deepEqual(await receiver.waitForAccepted(30), expected, 'every event, once accepted, in order');
      assert.ok(receiver.deliveries.length >= script.length + 3);
      // The failed batches were sent again under the same id: a receiver can tell a retry.
      assert.equal(receiver.deliveries[1]!.id, receiver.deliveries[0]!.id);
      for (let waited = 0; (await show(sink.id)).state !== 'active' && waited < 2000; waited += 50) await sleep(50);
      const recovered = await show(sink.id);
      assert.deepEqual([recovered.state, recovered.failures, recovered.last_error], ['active', 0, null]);
    } finally {
      await call('DELETE', `/sinks/${sink.id}`);
      await receiver.close();
    }
  });
});

describe('webhook sinks, two instances on one PostgreSQL database', { skip: TEST_BACKEND !== 'postgres' && 'PostgreSQL only: instances share a log only there' }, () => {
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    first = await startTestServer({ delivery: FAST });
    second = await startTestServer({ store: await first.database.openStore(), delivery: FAST });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  it('delivers each batch from one instance at a time, every event accepted once, in order', async () => {
    const receiver = await startWebhookReceiver([500, 'hang']); // a failure and a timeout, so that the lease is tested across retries
    const response = await fetch(`${first.url}/sinks`, {
      method: 'POST', headers: { 'X-API-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: receiver.url, filters: { user_id: ['shared'] } }),
    });
    const sink = (await response.json()) as { id: string; secret: string };
    receiver.secret = sink.secret;
    try {
      const expected: string[] = [];
      for (let n = 0; n < 40; n++) {
        const posted = await (n % 2 === 0 ? first : second).post({ user_id: 'shared', event_type: 't', data: { n } });
        expected.push(((await posted.json()) as { id: string }).id);
      }
      assert.deepEqual(await receiver.waitForAccepted(40), expected);
      assert.equal(receiver.maxConcurrent(), 1, 'never from two instances at once');
    } finally {
      await fetch(`${first.url}/sinks/${sink.id}`, { method: 'DELETE', headers: { 'X-API-Key': TEST_API_KEY } });
      await receiver.close();
    }
  });
});
