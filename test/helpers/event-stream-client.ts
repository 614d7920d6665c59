/**
 * GET /events/stream read by a client we did not write: the `eventsource` package, as a browser's
 * EventSource behaves (it reconnects on its own, sending Last-Event-ID), with the key in a header.
 */
import { EventSource } from 'eventsource';

export type StreamedEvent = { id: string; cursor: string; user_id: string; event_type: string; data: unknown; [member: string]: unknown };

export type StreamClient = {
  source: EventSource;
  /** Every event received, in the order received, each with its message id as `cursor`. */
  received: StreamedEvent[];
  /** The `closed` messages received (why the service ended the stream). */
  closings: Array<{ reason: string; message: string }>;
  /** How many times the connection opened (the first time, then each reconnection). */
  opens(): number;
  /** Resolves once `count` events have been received (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<StreamedEvent[]>;
  close(): void;
};

export function openStream(url: string, key: string): StreamClient {
  let opened = 0;
  const received: StreamedEvent[] = [];
  const closings: StreamClient['closings'] = [];
  const waiters = new Set<() => void>();
  const source = new EventSource(url, {
    fetch: (input, init) => {
      const headers = new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]);
      headers.set('X-API-Key', key);
      return fetch(input, { ...init, headers });
    },
  });
  source.addEventListener('open', () => opened++);
  source.addEventListener('message', (message) => {
    received.push({ ...(JSON.parse(message.data) as StreamedEvent), cursor: message.lastEventId });
    for (const wake of waiters) wake();
  });
  source.addEventListener('closed', (message) => closings.push(JSON.parse((message as { data: string }).data) as { reason: string; message: string }));
  return {
    source,
    received,
    closings,
    opens: () => opened,
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(received.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${received.length} of ${count} events received within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => source.close(),
  };
}
