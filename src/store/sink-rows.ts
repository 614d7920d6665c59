/**
 * The webhook sinks' rows (the `sinks` table, both backends): each sink's configuration, and the
 * state of its delivery, which every instance reads and the one holding its lease writes. Not
 * evidence, so not append-only: its cursor moves, and a removed sink's row goes (its creation and
 * removal are auditor.sink_added / auditor.sink_removed events in the log).
 */

export type SinkRow = {
  /** The id of its auditor.sink_added event. */
  id: string;
  url: string;
  /** Its filters, as the JSON object POST /sinks took (names of GET /events' query, values arrays). */
  filters: string;
  /** Its signing secret, `whsec_` and base64 (Standard Webhooks). */
  secret: string;
  createdMs: number;
  /** The name of the key that created it. */
  createdBy: string;
  /** The position of the last event delivered (or the log's end when it was created). */
  cursorTs: number;
  cursorSeq: number;
  /** Deliveries failed since the last that succeeded. */
  failures: number;
  lastError: string | null;
  lastAttemptMs: number | null;
  lastDeliveredMs: number | null;
  /** No delivery is tried before this (the backoff after a failure). */
  nextAttemptMs: number;
  /** The instance delivering it, until when (a lease: one instance at a time). */
  leaseOwner: string | null;
  leaseUntilMs: number | null;
};

/** What changes a sink's row; each resolves with how many rows it changed (0 or 1). */
export type SinkChange =
  | { kind: 'create'; sink: SinkRow }
  | { kind: 'delete'; id: string }
  /** Takes (or keeps) the lease, unless another owner holds one that has not run out at `nowMs`. */
  | { kind: 'lease'; id: string; owner: string; nowMs: number; untilMs: number }
  /** A delivery succeeded up to the cursor: only by the lease's owner. */
  | { kind: 'delivered'; id: string; owner: string; cursorTs: number; cursorSeq: number; atMs: number }
  /** A delivery failed: only by the lease's owner. */
  | { kind: 'failed'; id: string; owner: string; error: string; atMs: number; nextAttemptMs: number };

/** The columns of a SinkRow, in its order: both backends select them so. */
export const SINK_COLUMNS = [
  'id', 'url', 'filters', 'secret', 'created_ms', 'created_by', 'cursor_ts', 'cursor_seq', 'failures',
  'last_error', 'last_attempt_ms', 'last_delivered_ms', 'next_attempt_ms', 'lease_owner', 'lease_until_ms',
] as const;

/** A SinkRow from the row a backend read (its columns as SINK_COLUMNS names them). */
export function sinkRowOf(row: Record<string, unknown>): SinkRow {
  const number = (value: unknown): number => Number(value);
  const nullable = (value: unknown): number | null => (value === null ? null : Number(value));
  return {
    id: String(row.id), url: String(row.url), filters: String(row.filters), secret: String(row.secret),
    createdMs: number(row.created_ms), createdBy: String(row.created_by), cursorTs: number(row.cursor_ts), cursorSeq: number(row.cursor_seq),
    failures: number(row.failures), lastError: row.last_error === null ? null : String(row.last_error),
    lastAttemptMs: nullable(row.last_attempt_ms), lastDeliveredMs: nullable(row.last_delivered_ms), nextAttemptMs: number(row.next_attempt_ms),
    leaseOwner: row.lease_owner === null ? null : String(row.lease_owner), leaseUntilMs: nullable(row.lease_until_ms),
  };
}

/**
 * Each change as one statement with named parameters (`:name`; PostgreSQL's backend numbers them),
 * the same SQL on both backends.
 */
export const SINK_STATEMENTS: Record<SinkChange['kind'], { sql: string; params: string[] }> = {
  create: {
    sql: `INSERT INTO sinks (${SINK_COLUMNS.join(', ')}) VALUES (${SINK_COLUMNS.map((column) => `:${column}`).join(', ')})`,
    params: [...SINK_COLUMNS],
  },
  delete: { sql: 'DELETE FROM sinks WHERE id = :id', params: ['id'] },
  lease: {
    sql: `UPDATE sinks SET lease_owner = :owner, lease_until_ms = :until
          WHERE id = :id AND (lease_owner IS NULL OR lease_owner = :owner OR lease_until_ms < :now)`,
    params: ['owner', 'until', 'id', 'now'],
  },
  delivered: {
    sql: `UPDATE sinks SET cursor_ts = :cursor_ts, cursor_seq = :cursor_seq, failures = 0, last_error = NULL,
            last_attempt_ms = :at, last_delivered_ms = :at, next_attempt_ms = :at
          WHERE id = :id AND lease_owner = :owner`,
    params: ['cursor_ts', 'cursor_seq', 'at', 'id', 'owner'],
  },
  failed: {
    sql: `UPDATE sinks SET failures = failures + 1, last_error = :error, last_attempt_ms = :at, next_attempt_ms = :next
          WHERE id = :id AND lease_owner = :owner`,
    params: ['error', 'at', 'next', 'id', 'owner'],
  },
};

/** The named parameters of `change`'s statement. */
export function sinkParameters(change: SinkChange): Record<string, string | number | null> {
  switch (change.kind) {
    case 'create': {
      const { sink } = change;
      return {
        id: sink.id, url: sink.url, filters: sink.filters, secret: sink.secret, created_ms: sink.createdMs, created_by: sink.createdBy,
        cursor_ts: sink.cursorTs, cursor_seq: sink.cursorSeq, failures: sink.failures, last_error: sink.lastError,
        last_attempt_ms: sink.lastAttemptMs, last_delivered_ms: sink.lastDeliveredMs, next_attempt_ms: sink.nextAttemptMs,
        lease_owner: sink.leaseOwner, lease_until_ms: sink.leaseUntilMs,
      };
    }
    case 'delete':
      return { id: change.id };
    case 'lease':
      return { owner: change.owner, until: change.untilMs, id: change.id, now: change.nowMs };
    case 'delivered':
      return { cursor_ts: change.cursorTs, cursor_seq: change.cursorSeq, at: change.atMs, id: change.id, owner: change.owner };
    case 'failed':
      return { error: change.error, at: change.atMs, next: change.nextAttemptMs, id: change.id, owner: change.owner };
  }
}
