/**
 * A webhook receiver as a sink's owner would run one: every delivery checked with the
 * `standardwebhooks` package (a library we did not write), and answered as the test scripts it.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** How the receiver answers one delivery: a status, or never (the sender times out). */
export type Answer = number | 'hang';

export type Delivery = { id: string; events: Array<{ id: string; [member: string]: unknown }>; verified: boolean };

export type WebhookReceiver = {
  url: string;
  /** Every delivery received, in order, whatever it was answered. */
  deliveries: Delivery[];
  /** The ids of the events of the deliveries answered 2xx, in order. */
  accepted(): string[];
  /** The most deliveries that were in flight at once. */
  maxConcurrent(): number;
  /** Resolves once the deliveries answered 2xx hold `count` events (rejects after `timeoutMs`). */
  waitForAccepted(count: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
};

/**
 * Answers the deliveries with `script`, one answer each, then 200 to all after; `secret` is set
 * once the sink is made (its secret is known only then).
 */
export async function startWebhookReceiver(script: Answer[] = []): Promise<WebhookReceiver & { secret: string }> {
  const deliveries: Delivery[] = [];
  const acceptedIds: string[] = [];
  const hanging: ServerResponse[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let answered = 0;
  const receiver = {
    secret: '',
  };
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.once('close', () => inFlight--);
    let body = '';
    for await (const chunk of request) body += chunk;
    let verified = false;
    try {
      new Webhook(receiver.secret).verify(body, request.headers as Record<string, string>);
      verified = true;
    } catch {
      // recorded as unverified; answered 400, as a receiver would
    }
    const { events } = JSON.parse(body) as { events: Delivery['events'] };
    deliveries.push({ id: String(request.headers['webhook-id']), events, verified });
    if (!verified) {
      response.writeHead(400).end();
      return;
    }
    const answer = script[answered++] ?? 200;
    if (answer === 'hang') {
      hanging.push(response);
      return;
    }
    if (answer >= 200 && answer < 300) acceptedIds.push(...events.map((event) => event.id));
    // A receiver that is slow to answer, so that two senders at once would overlap.
    setTimeout(() => response.writeHead(answer).end(), 20);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    accepted: () => [...acceptedIds],
    maxConcurrent: () => maxInFlight,
    async waitForAccepted(count: number, timeoutMs = 15_000) {
      const started = Date.now();
      while (acceptedIds.length < count) {
        if (Date.now() - started > timeoutMs) throw new Error(`${acceptedIds.length} of ${count} events accepted within ${timeoutMs} ms; deliveries: ${deliveries.length}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return [...acceptedIds];
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}
