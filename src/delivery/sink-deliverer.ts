/**
 * Delivers each webhook sink's matching events, at least once, in commit order: read from the log
 * after the sink's cursor (off the write path: committed events, by the same queries as GET
 * /events), POSTed in batches signed per Standard Webhooks, the cursor moved only after a 2xx. A
 * failure is retried with exponential backoff and jitter, from the same cursor, for as long as it
 * takes. Each instance runs one; a lease in the sink's row lets one instance at a time deliver it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeEventJson } from '../encode/event-json.js';
import type { StoredEvent } from '../events/event.js';
import type { Logger } from '../ops/logger.js';
import type { EventStore } from '../store/event-store.js';
import type { SinkRow } from '../store/sink-rows.js';
import type { CommitSignal } from '../stream/commit-signal.js';
import { sinkQuery } from './parse-sink-request.js';
import { postDelivery } from './post-delivery.js';
import { signWebhook } from './standard-webhooks.js';

export type DeliverySettings = {
  /** AUDITOR_SINK_BATCH_SIZE: most events one delivery holds. */
  batchSize: number;
  /** AUDITOR_SINK_BATCH_WAIT: how long a batch that is not full waits for more, from its first event's time, in ms. */
  batchWaitMs: number;
  /** AUDITOR_SINK_TIMEOUT: how long a receiver has to answer, in ms. */
  timeoutMs: number;
  /** The wait after the first failure, in ms; it doubles with each failure after, up to `maxBackoffMs`. */
  backoffMs: number;
  /** AUDITOR_SINK_MAX_BACKOFF: the longest wait between two tries, in ms. */
  maxBackoffMs: number;
};

export type DeliveryOutcome = 'delivered' | 'failed';

export type SinkDelivery = {
  /** This instance's name in the sinks' leases. */
  readonly owner: string;
  /** Finishes the deliveries under way, and stops. */
  stop(): Promise<void>;
};

/** Most bytes of event text one delivery holds; a single larger event goes alone. */
export const MAX_DELIVERY_CHARS = 1024 * 1024;
/** Failures in a row after which a sink is shown as failing. */
export const FAILING_AFTER = 3;
/** How often sinks are looked at while no commit wakes the deliverer, in ms. */
const IDLE_PASS_MS = 500;
/** The shortest time between two looks, in ms. */
const MIN_PASS_MS = 50;

export function startSinkDelivery(options: {
  store: EventStore;
  signal: CommitSignal;
  settings: DeliverySettings;
  log: Logger;
  clock?: () => number;
  onDelivery?: ((outcome: DeliveryOutcome) => void) | undefined;
  owner?: string;
}): SinkDelivery {
  const { store, signal, settings, log, clock = Date.now, onDelivery } = options;
  const owner = options.owner ?? randomUUID();
  const stopping = new AbortController();
  const inFlight = new Map<string, Promise<void>>();
  /** Sinks whose batch is filling, and when its wait is over. */
  const filling = new Map<string, number>();
  /** The leases this instance holds, and until when. */
  const leases = new Map<string, number>();
  /** Where this instance's last delivery to each sink ended. */
  const deliveredTo = new Map<string, { timestampMs: number; seq: number }>();
  const leaseMs = settings.timeoutMs * 3;

  /** Delivers `sink`'s batches while it holds its lease and full batches are waiting. */
  const deliver = async (sink: SinkRow): Promise<void> => {
    // The row may have been read before this instance's last delivery moved its cursor on.
    const mine = deliveredTo.get(sink.id);
    let cursor = mine !== undefined && (mine.timestampMs > sink.cursorTs || (mine.timestampMs === sink.cursorTs && mine.seq > sink.cursorSeq))
      ? mine
      : { timestampMs: sink.cursorTs, seq: sink.cursorSeq };
    let failures = sink.failures;
    const query = sinkQuery(JSON.parse(sink.filters) as Record<string, string[]>);
    for (;;) {
      if (stopping.signal.aborted) return;
      const now = clock();
      // Taken once, then renewed only after a delivery's time of it has gone (not before every batch).
      if ((leases.get(sink.id) ?? 0) - now < leaseMs - settings.timeoutMs) {
        if ((await store.sinks.change({ kind: 'lease', id: sink.id, owner, nowMs: now, untilMs: now + leaseMs })) === 0) {
          leases.delete(sink.id);
          return;
        }
        leases.set(sink.id, now + leaseMs);
      }
      const { events, full } = await readBatch(store, query, cursor, settings.batchSize);
      if (events.length === 0) return;
      if (!full && now - events[0]!.event.timestampMs < settings.batchWaitMs) {
        // More may come: not read again before the batch's wait is over (a batch read at every
        // pass while it fills cost more than delivering it).
        filling.set(sink.id, events[0]!.event.timestampMs + settings.batchWaitMs);
        return;
      }
      filling.delete(sink.id);
      const error = await post(sink, events, now);
      if (stopping.signal.aborted) return; // cut short by the shutdown: tried again after the restart, from the same cursor
      if (error === undefined) {
        const last = events[events.length - 1]!.event;
        cursor = { timestampMs: last.timestampMs, seq: last.seq };
        deliveredTo.set(sink.id, cursor);
        await store.sinks.change({ kind: 'delivered', id: sink.id, owner, cursorTs: last.timestampMs, cursorSeq: last.seq, atMs: clock() });
        if (failures >= FAILING_AFTER) log.info({ msg: 'sink delivers again', sink: sink.id, url: sink.url });
        failures = 0;
        onDelivery?.('delivered');
        if (!full) return;
      } else {
        failures++;
        const wait = Math.min(settings.maxBackoffMs, settings.backoffMs * 2 ** Math.min(failures - 1, 30)) * (0.5 + Math.random() / 2);
        await store.sinks.change({ kind: 'failed', id: sink.id, owner, error, atMs: clock(), nextAttemptMs: clock() + Math.round(wait) });
        if (failures === FAILING_AFTER) log.error({ msg: 'sink failing', sink: sink.id, url: sink.url, failures, error });
        onDelivery?.('failed');
        return;
      }
    }
  };

  /** POSTs the batch; undefined when the receiver took it (2xx), else what went wrong. */
  const post = async (sink: SinkRow, events: readonly BatchEvent[], now: number): Promise<string | undefined> => {
    const body = `{"events":[${events.map((one) => one.json).join(',')}]}`;
    // The same batch has the same id however often it is tried, so that a receiver can tell a retry.
    const id = `msg_${createHash('sha256').update(`${sink.id}:${events[0]!.event.seq}:${events[events.length - 1]!.event.seq}`).digest('base64url').slice(0, 32)}`;
    const timestamp = Math.floor(now / 1000);
    const outcome = await postDelivery(new URL(sink.url), {
      'Content-Type': 'application/json',
      'User-Agent': 'Auditor-Webhooks',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(sink.secret, id, timestamp, body),
    }, body, settings.timeoutMs, stopping.signal);
    if ('error' in outcome) return outcome.error;
    return outcome.status >= 200 && outcome.status < 300 ? undefined : `the receiver answered ${outcome.status}`;
  };

  /** Starts a delivery for each sink that is due, not under way here, and not leased elsewhere. */
  const pass = async (): Promise<void> => {
    let sinks: SinkRow[];
    try {
      sinks = await store.sinks.list();
    } catch {
      return; // the database is down: the next pass tries again
    }
    const now = clock();
    for (const known of [filling, leases, deliveredTo]) for (const id of known.keys()) if (!sinks.some((sink) => sink.id === id)) known.delete(id); // removed meanwhile
    for (const sink of sinks) {
      if (inFlight.has(sink.id) || sink.nextAttemptMs > now || (filling.get(sink.id) ?? 0) > now) continue;
      if (sink.leaseOwner !== null && sink.leaseOwner !== owner && (sink.leaseUntilMs ?? 0) >= now) continue;
      const delivery = deliver(sink)
        .catch((error: unknown) => log.error({ msg: 'sink delivery interrupted', sink: sink.id, error: (error as Error).message }))
        .finally(() => inFlight.delete(sink.id));
      inFlight.set(sink.id, delivery);
    }
  };

  const running = (async () => {
    const watch = signal.watch();
    try {
      while (!stopping.signal.aborted) {
        await pass();
        // At most one pass per MIN_PASS_MS however fast commits come: a pass reads the sinks' rows.
        await sleep(MIN_PASS_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
        await watch.changed(Math.max(0, Math.min(IDLE_PASS_MS, settings.batchWaitMs) - MIN_PASS_MS), stopping.signal);
      }
    } finally {
      watch.close();
    }
  })();

  return {
    owner,
    async stop() {
      stopping.abort();
      await running;
      await Promise.all(inFlight.values());
    },
  };
}

/** An event of a batch, and its JSON. */
type BatchEvent = { event: StoredEvent; json: string };

/** Up to `limit` matching events after `cursor`, and at most MAX_DELIVERY_CHARS of their JSON; `full` when either bound was reached. */
async function readBatch(
  store: EventStore, query: ReturnType<typeof sinkQuery>, cursor: { timestampMs: number; seq: number }, limit: number,
): Promise<{ events: BatchEvent[]; full: boolean }> {
  const events: BatchEvent[] = [];
  let chars = 0;
  const add = (one: BatchEvent): boolean => {
    if (events.length > 0 && chars + one.json.length > MAX_DELIVERY_CHARS) return false;
    events.push(one);
    chars += one.json.length;
    return true;
  };
  for await (const chunk of store.query({ ...query, order: 'asc', after: cursor, limit })) {
    for (const event of chunk) if (!add({ event, json: encodeEventJson(event) })) return { events, full: true };
  }
  return { events, full: events.length === limit };
}
