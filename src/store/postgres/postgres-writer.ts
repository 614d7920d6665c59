import type pg from 'pg';
import type { NewEvent, StoredEvent } from '../../events/event.js';
import { createUuidV7Generator, type TimeOrderedId } from '../../events/uuid-v7.js';
import { chainHash, GENESIS_HASH } from '../../integrity/chain.js';
import type { BatchOutcome } from '../group-commit.js';
import { StoreUnavailableError } from '../store-unavailable.js';
import { withAnswerTimeout, writeBudgetMs, type PostgresBounds, type Queryable } from './postgres-bounds.js';
import { serverAnswered } from './postgres-failures.js';
import { insertEventRows } from './insert-event-rows.js';
import { IDEMPOTENCY_WINDOW_MS, IdempotencyConflictError, idempotencyRequestDigest } from '../idempotency.js';

// BEGIN, the bounds, the lock and the savepoint in the same round trip as the head: a batch costs
// three round trips whatever its size (this, the insert, COMMIT), plus one to look up idempotency
// keys and one to record them when the batch has any.
//
// EXCLUSIVE mode lets readers on but makes every other writer wait, in this process or any other
// instance on the database, until COMMIT. Under it the head read here is the true head, so each
// batch extends the one chain, and seq (assigned here, +1 per event) is commit order.
//
// The transaction's bounds are its budget (see postgres-bounds.ts), for its statements and for the
// time the server waits on the client between them: a client that stalls holding the lock loses
// it then. SET takes no parameters; the budget is a whole number this code computed.
function lockAndReadHead(budgetMs: number): string {
  return `
  BEGIN;
  SET LOCAL statement_timeout = ${budgetMs};
  SET LOCAL idle_in_transaction_session_timeout = ${budgetMs};
  LOCK TABLE events IN EXCLUSIVE MODE;
  SAVEPOINT planned;
  SELECT (SELECT seq FROM events ORDER BY seq DESC LIMIT 1) AS seq,
         (SELECT ts FROM events ORDER BY seq DESC LIMIT 1) AS ts,
         (SELECT hash FROM events WHERE hash IS NOT NULL ORDER BY seq DESC LIMIT 1) AS hash`;
}
const SELECT_IDEMPOTENT = `
  SELECT i.key_name, i.idempotency_key, i.request_sha256, e.id, e.ts, e.seq
  FROM idempotency i JOIN events e ON e.id = i.event_id
  WHERE (i.key_name, i.idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND i.created_ms > $3`;
// An expired row for the same key is replaced (a reuse after 24 hours stores anew).
const UPSERT_IDEMPOTENT = `
  INSERT INTO idempotency (key_name, idempotency_key, request_sha256, event_id, created_ms)
  SELECT *, $5::bigint FROM unnest($1::text[], $2::text[], $3::bytea[], $4::uuid[])
  ON CONFLICT (key_name, idempotency_key) DO UPDATE
    SET request_sha256 = EXCLUDED.request_sha256, event_id = EXCLUDED.event_id, created_ms = EXCLUDED.created_ms`;

type Recorded = { id: string; timestampMs: number; seq: number; request: Buffer };
type NewKey = Recorded & { keyName: string; idempotencyKey: string };
type Row = { seq: number; id: string; ts: number; event: NewEvent; hash: Buffer | null };

/** Where the batch stands while its groups are planned: the next links, and the keys seen so far. */
type BatchState = { seq: number; chainHead: Buffer; recorded: Map<string, Recorded>; newKeys: Map<string, NewKey> };

/** One group, planned: the rows to insert and what each event's answer will be, or why it is refused. */
type GroupPlan = { ok: true; rows: Row[]; keys: Map<string, NewKey>; stored: StoredEvent[]; seq: number; chainHead: Buffer } | { ok: false; error: Error };

export type PostgresCommit = (groups: ReadonlyArray<readonly NewEvent[]>) => Promise<Array<BatchOutcome<StoredEvent[]>>>;

/**
 * The PostgreSQL writer: commits each batch of groups in one transaction (a CommitBatch for group
 * commit). Ids, timestamps, seq and chain links are assigned in order under the table lock;
 * idempotency is decided there too, so racing retries, even through two instances, store once.
 * A group of several events is stored whole or not at all, and a group the database refuses fails
 * alone.
 */
export function createPostgresCommit(
  pool: pg.Pool,
  chainSecret: Buffer | undefined,
  options: { pruneEveryCommits: number; onPruneFailed(message: string): void; bounds: PostgresBounds },
): PostgresCommit {
  // Never earlier than the newest event: another instance's clock may run ahead of this one's,
  // and (ts, seq) order must stay commit order for the keyset pages of readers.
  let notBefore = 0;
  const nextId = createUuidV7Generator(() => Math.max(Date.now(), notBefore));
  let commitsSincePrune = 0;
  const { bounds } = options;

  return async (groups) => {
    const budgetMs = writeBudgetMs(bounds, textBytes(groups));
    const client = await pool.connect();
    // Each answer is awaited for the budget and the margin at most: past that the connection is
    // taken for stalled, and destroyed below.
    const db = withAnswerTimeout(client, budgetMs + bounds.stallMarginMs);
    let committing = false;
    try {
      const results = (await db.query(lockAndReadHead(budgetMs))) as unknown as pg.QueryResult[];
      const head = results[5]!.rows[0] as { seq: number | null; ts: number | null; hash: Buffer | null };
      notBefore = head.ts ?? 0;
      const now = Date.now();
      const recorded = await findRecorded(db, groups, now);
      const start = (): BatchState => ({ seq: head.seq ?? 0, chainHead: head.hash ?? GENESIS_HASH, recorded, newKeys: new Map() });

      // Every group planned, then one INSERT for all of them.
      let state = start();
      const plans = groups.map((group) => {
        const plan = planGroup(group, state, nextId, chainSecret);
        if (plan.ok) state = accept(state, plan);
        return plan;
      });
      let outcomes: Array<BatchOutcome<StoredEvent[]>>;
      try {
        await insertEvents(db, plans.flatMap((plan) => (plan.ok ? plan.rows : [])));
        outcomes = plans.map(toOutcome);
      } catch (error) {
        if (!isRowError(error)) throw error;
        // Some row was refused (a constraint, a value the column cannot take). Find which groups:
        // insert them one at a time, each behind a savepoint, and keep the rest of the batch.
        await db.query('ROLLBACK TO SAVEPOINT planned');
        ({ outcomes, state } = await insertGroupByGroup(db, groups, start(), nextId, chainSecret));
      }

      await upsertKeys(db, [...state.newKeys.values()], now);
      committing = true;
      await db.query('COMMIT');
      client.release();
      // Expired keys go after the commit, in a statement of their own and off the table lock: its
      // failure is logged, and can change neither this batch nor its answers.
      if (++commitsSincePrune >= options.pruneEveryCommits) {
        commitsSincePrune = 0;
        pool.query('DELETE FROM idempotency WHERE created_ms <= $1', [now - IDEMPOTENCY_WINDOW_MS])
          .catch((error: Error) => options.onPruneFailed(error.message));
      }
      return outcomes;
    } catch (error) {
      if (!serverAnswered(error)) {
        // No answer in time, or a broken connection: it is destroyed, not returned to the pool, and
        // the server rolls the transaction back once it sees the connection gone (or idle past the
        // budget), unless a COMMIT reached it first: then no one here can tell.
        client.release(error as Error);
        if (!committing) throw error;
        throw new StoreUnavailableError(`the database did not confirm the COMMIT (${(error as Error).message})`, { outcomeUnknown: true, cause: error });
      }
      const rolledBack = await db.query('ROLLBACK').then(() => true, () => false);
      client.release(rolledBack ? undefined : (error as Error));
      throw error;
    }
  };
}

/** The event text of a batch, which its budget grows with (characters: close enough to bytes for a bound). */
function textBytes(groups: ReadonlyArray<readonly NewEvent[]>): number {
  let total = 0;
  for (const group of groups) for (const event of group) total += event.dataJson.length + event.userId.length + event.eventType.length;
  return total;
}

/** Plans and inserts each group apart, each behind a savepoint: a group the database refuses fails alone. */
async function insertGroupByGroup(
  client: Queryable,
  groups: ReadonlyArray<readonly NewEvent[]>,
  state: BatchState,
  nextId: () => TimeOrderedId,
  chainSecret: Buffer | undefined,
): Promise<{ outcomes: Array<BatchOutcome<StoredEvent[]>>; state: BatchState }> {
  const outcomes: Array<BatchOutcome<StoredEvent[]>> = [];
  for (const group of groups) {
    const plan = planGroup(group, state, nextId, chainSecret);
    if (!plan.ok) {
      outcomes.push(plan);
      continue;
    }
    await client.query('SAVEPOINT one_group');
    try {
      await insertEvents(client, plan.rows);
      await client.query('RELEASE SAVEPOINT one_group');
    } catch (error) {
      if (!isRowError(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT one_group');
      outcomes.push({ ok: false, error: error as Error });
      continue;
    }
    state = accept(state, plan);
    outcomes.push(toOutcome(plan));
  }
  return { outcomes, state };
}

/**
 * Assigns each new event of the group its id, timestamp, seq and chain link after `state`, and
 * decides its idempotency key against those recorded and those earlier in the batch.
 */
function planGroup(group: readonly NewEvent[], state: BatchState, nextId: () => TimeOrderedId, chainSecret: Buffer | undefined): GroupPlan {
  const rows: Row[] = [];
  const keys = new Map<string, NewKey>();
  const stored: StoredEvent[] = [];
  let { seq, chainHead } = state;
  for (const event of group) {
    const keyName = event.keyName ?? null;
    const { idempotencyKey } = event;
    let request: Buffer | undefined;
    if (idempotencyKey !== undefined) {
      request = idempotencyRequestDigest(event);
      const lookup = idempotencyLookup(keyName ?? '', idempotencyKey);
      const seen = keys.get(lookup) ?? state.newKeys.get(lookup) ?? state.recorded.get(lookup);
      if (seen !== undefined) {
        if (!seen.request.equals(request)) {
          return { ok: false, error: new IdempotencyConflictError('the Idempotency-Key was used for a different event') };
        }
        stored.push({ ...event, id: seen.id, timestampMs: seen.timestampMs, seq: seen.seq, replayed: true });
        continue;
      }
    }
    const { id, timestampMs } = nextId();
    seq++;
    let hash: Buffer | null = null;
    if (chainSecret !== undefined) {
      hash = chainHash(chainSecret, chainHead, { id, timestampMs, userId: event.userId, eventType: event.eventType, dataJson: event.dataJson, keyName });
      chainHead = hash;
    }
    rows.push({ seq, id, ts: timestampMs, event, hash });
    if (request !== undefined) {
      keys.set(idempotencyLookup(keyName ?? '', idempotencyKey!), { id, timestampMs, seq, request, keyName: keyName ?? '', idempotencyKey: idempotencyKey! });
    }
    stored.push({ ...event, id, timestampMs, seq });
  }
  return { ok: true, rows, keys, stored, seq, chainHead };
}

/** The batch's state once `plan`'s group is in it. */
function accept(state: BatchState, plan: GroupPlan & { ok: true }): BatchState {
  for (const [lookup, entry] of plan.keys) state.newKeys.set(lookup, entry);
  return { ...state, seq: plan.seq, chainHead: plan.chainHead };
}

function toOutcome(plan: GroupPlan): BatchOutcome<StoredEvent[]> {
  return plan.ok ? { ok: true, value: plan.stored } : plan;
}

/** One INSERT for all the rows. */
async function insertEvents(client: Queryable, rows: readonly Row[]): Promise<void> {
  await insertEventRows(client, rows.map(({ seq, id, ts, event, hash }) => ({
    seq, id, ts, userId: event.userId, eventType: event.eventType, dataJson: event.dataJson, keyName: event.keyName ?? null, hash,
  })));
}

async function upsertKeys(client: Queryable, keys: readonly NewKey[], now: number): Promise<void> {
  if (keys.length === 0) return;
  await client.query(UPSERT_IDEMPOTENT, [
    keys.map((key) => key.keyName),
    keys.map((key) => key.idempotencyKey),
    keys.map((key) => key.request),
    keys.map((key) => key.id),
    now,
  ]);
}

/** The idempotency keys of this batch already recorded within the window, by idempotencyLookup. */
async function findRecorded(client: Queryable, groups: ReadonlyArray<readonly NewEvent[]>, now: number): Promise<Map<string, Recorded>> {
  const keyNames: string[] = [];
  const keys: string[] = [];
  for (const group of groups) {
    for (const event of group) {
      if (event.idempotencyKey === undefined) continue;
      keyNames.push(event.keyName ?? '');
      keys.push(event.idempotencyKey);
    }
  }
  const recorded = new Map<string, Recorded>();
  if (keys.length === 0) return recorded;
  const { rows } = await client.query<{ key_name: string; idempotency_key: string; request_sha256: Buffer; id: string; ts: number; seq: number }>(
    SELECT_IDEMPOTENT,
    [keyNames, keys, now - IDEMPOTENCY_WINDOW_MS],
  );
  for (const row of rows) {
    recorded.set(idempotencyLookup(row.key_name, row.idempotency_key), { id: row.id, timestampMs: row.ts, seq: row.seq, request: row.request_sha256 });
  }
  return recorded;
}

function idempotencyLookup(keyName: string, idempotencyKey: string): string {
  return `${keyName}\n${idempotencyKey}`; // neither may hold a line break
}

/**
 * Whether the database refused the rows themselves (SQLSTATE class 22, data exception, or 23,
 * integrity constraint), rather than the transaction failing (a lost connection, a shutdown).
 */
function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
