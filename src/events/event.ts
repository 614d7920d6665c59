/** An event as a client submitted it, validated. */
export type NewEvent = {
  userId: string;
  eventType: string;
  /** The `data` object as the client wrote it, minified; `{}` when it was left out. */
  dataJson: string;
  /** The name of the key that wrote it: kept, and chained, but not part of the API's event. */
  keyName?: string;
  /**
   * The client's Idempotency-Key: a second event with the same key (and key name) within 24 hours
   * is not stored again; the first is returned, or the store refuses a different body.
   */
  idempotencyKey?: string;
};

/** An event as it was recorded: the server assigns the id and the timestamp. */
export type StoredEvent = NewEvent & {
  /** UUIDv7: sorts by time. */
  id: string;
  /** Milliseconds since the Unix epoch, UTC; the same instant as the id's time field. */
  timestampMs: number;
  /** Commit order within the store; with the timestamp, the event's place in every answer. */
  seq: number;
  /** True when append found this event already stored under the same Idempotency-Key. */
  replayed?: boolean;
  /** Set once its payload was removed (its dataJson is then `null`), by retention or an erasure. */
  removed?: Removal;
};

/**
 * The record of an event's payload removed: by the retention policy or an erasure, when, and the
 * id of the system event (auditor.retention or auditor.erasure) that says so in the log.
 */
export type Removal = { reason: 'retention' | 'erasure'; atMs: number; by: string };

/** A place in the (timestamp, seq) order of events, as carried by a page cursor. */
export type Position = { timestampMs: number; seq: number };

/** One condition on a field of `data`: the field at `path` equals any of `values`. */
export type DataFilter = {
  path: readonly string[];
  values: readonly string[];
};

/** What GET /events asks for, validated. All conditions are ANDed. */
export type EventQuery = {
  /** One user's events; absent means every user's. */
  userId?: string;
  /** Any of these; empty means every type. */
  eventTypes: readonly string[];
  dataFilters: readonly DataFilter[];
  /** Inclusive lower bound on the timestamp, in ms. */
  since?: number;
  /** Exclusive upper bound on the timestamp, in ms. */
  until?: number;
  order: 'asc' | 'desc';
  /** Only events strictly after this place in `order`. */
  after?: Position;
  /** At most this many events. */
  limit?: number;
};

/** What GET /events/summary counts events by: their type, their user, or the UTC hour or day of their timestamp. */
export type SummaryGrouping = 'event_type' | 'user_id' | 'hour' | 'day';

/** One group of a summary: its key (an event type, a user id, or an hour's or day's first instant in ms) and how many events it holds. */
export type SummaryGroup = { key: string | number; count: number };

/** A summary's answer: the largest groups (or the first ones in time), every matching event counted in `total`. */
export type Summary = { groups: SummaryGroup[]; total: number; truncated: boolean };
