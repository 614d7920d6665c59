import { NO_KEY_NAME } from '../auth/keys-file.js';
import { FAILING_AFTER } from '../delivery/sink-deliverer.js';
import { parseSinkRequest, MAX_SINK_REQUEST_BYTES, sinkQuery } from '../delivery/parse-sink-request.js';
import { sinkAddedRecord, sinkRemovedRecord } from '../delivery/sink-records.js';
import { newWebhookSecret } from '../delivery/standard-webhooks.js';
import { encodeCursor } from '../events/cursor.js';
import { HttpError } from '../http/http-error.js';
import { readJsonBody } from '../http/read-body.js';
import type { BodyLimits, RouteHandler } from '../http/route.js';
import type { EventStore } from '../store/event-store.js';
import type { SinkRow } from '../store/sink-rows.js';

/** Most sinks a log delivers to: each is a reader of the log and a line of metrics. */
export const MAX_SINKS = 50;
/** Undelivered events counted for a sink's lag; beyond, it says "at least". */
export const LAG_COUNT_CAP = 1000;

/** What a sink has not delivered yet: matching events (counted up to LAG_COUNT_CAP) and the age of the oldest. */
export type SinkLag = { events: number; capped: boolean; seconds: number };

export async function sinkLag(store: EventStore, sink: SinkRow, now: number): Promise<SinkLag> {
  const query = sinkQuery(JSON.parse(sink.filters) as Record<string, string[]>);
  let events = 0;
  let oldestMs: number | undefined;
  for await (const chunk of store.query({ ...query, order: 'asc', after: { timestampMs: sink.cursorTs, seq: sink.cursorSeq }, limit: LAG_COUNT_CAP + 1 })) {
    if (oldestMs === undefined && chunk[0] !== undefined) oldestMs = chunk[0].timestampMs;
    events += chunk.length;
  }
  return { events: Math.min(events, LAG_COUNT_CAP), capped: events > LAG_COUNT_CAP, seconds: oldestMs === undefined ? 0 : Math.max(0, (now - oldestMs) / 1000) };
}

/** A sink as the API shows it: never its secret. */
export function sinkJson(sink: SinkRow, lag?: SinkLag): Record<string, unknown> {
  const at = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: sink.id,
    url: sink.url,
    filters: JSON.parse(sink.filters) as unknown,
    created_at: at(sink.createdMs),
    created_by: sink.createdBy,
    state: sink.failures >= FAILING_AFTER ? 'failing' : 'active',
    failures: sink.failures,
    last_error: sink.lastError,
    last_attempt_at: at(sink.lastAttemptMs),
    last_delivered_at: at(sink.lastDeliveredMs),
    next_attempt_at: sink.failures > 0 ? at(sink.nextAttemptMs) : null,
    cursor: encodeCursor({ timestampMs: sink.cursorTs, seq: sink.cursorSeq }),
    ...(lag === undefined ? {} : { lag: { events: lag.events, events_capped: lag.capped, seconds: Math.round(lag.seconds * 1000) / 1000 } }),
  };
}

/**
 * The webhook sinks (admin): POST /sinks adds one (201, its id the id of its auditor.sink_added
 * event, its secret shown this once), GET /sinks lists them, GET /sinks/{id} shows one with its lag,
 * DELETE /sinks/{id} removes one (200, after its auditor.sink_removed event). A sink delivers the
 * matching events committed after its creation (see sink-deliverer.ts).
 */
export function createSinkRoutes(store: EventStore, bodies: BodyLimits, clock: () => number = Date.now): Record<'add' | 'list' | 'show' | 'remove', RouteHandler> {
  const find = async (id: string): Promise<SinkRow> => {
    const sink = (await store.sinks.list()).find((candidate) => candidate.id === id);
    if (sink === undefined) throw new HttpError(404, `No sink with id ${JSON.stringify(id)}`);
    return sink;
  };
  return {
    async add(request, { caller }) {
      const body = await readJsonBody(request, Math.min(bodies.maxBytes, MAX_SINK_REQUEST_BYTES), { budget: bodies.memory, holder: caller?.keyName ?? NO_KEY_NAME });
      let parsed;
      try {
        parsed = parseSinkRequest(body.text);
      } finally {
        body.release();
      }
      if ((await store.sinks.list()).length >= MAX_SINKS) throw new HttpError(409, `This log delivers to ${MAX_SINKS} sinks already, as many as it may: remove one first`);
      // On the record first; the sink starts right after its own record.
      const record = await store.append(sinkAddedRecord(parsed.url, parsed.filters, caller?.keyName));
      const sink: SinkRow = {
        id: record.id, url: parsed.url, filters: JSON.stringify(parsed.filters), secret: newWebhookSecret(),
        createdMs: record.timestampMs, createdBy: caller?.keyName ?? NO_KEY_NAME, cursorTs: record.timestampMs, cursorSeq: record.seq,
        failures: 0, lastError: null, lastAttemptMs: null, lastDeliveredMs: null, nextAttemptMs: 0, leaseOwner: null, leaseUntilMs: null,
      };
      await store.sinks.change({ kind: 'create', sink });
      return { status: 201, body: { ...sinkJson(sink), secret: sink.secret }, headers: { Location: `/sinks/${sink.id}` } };
    },

    async list() {
      return { status: 200, body: { sinks: (await store.sinks.list()).map((sink) => sinkJson(sink)) } };
    },

    async show(_request, { pathParams }) {
      const sink = await find(pathParams.id!);
      return { status: 200, body: sinkJson(sink, await sinkLag(store, sink, clock())) };
    },

    async remove(_request, { caller, pathParams }) {
      const sink = await find(pathParams.id!);
      const record = await store.append(sinkRemovedRecord(sink.id, caller?.keyName));
      await store.sinks.change({ kind: 'delete', id: sink.id });
      return { status: 200, body: { id: sink.id, removed_at: new Date(record.timestampMs).toISOString(), record: record.id } };
    },
  };
}
