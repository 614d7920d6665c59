import type pg from 'pg';

/**
 * How long PostgreSQL may take to answer, so that a stalled connection (a network that stops
 * forwarding, a server that stops answering) gets a request its 503 in a bounded time, instead of
 * holding it, and the writers' table lock, for as long as the stall lasts. The server bounds what
 * it runs (statement_timeout, lock_timeout, idle_in_transaction_session_timeout); the client bounds
 * how long it waits for each answer, and destroys a connection that does not give one.
 */
export type PostgresBounds = {
  /**
   * Server: the longest a statement may run unless its transaction allows more (a write's budget).
   * Reads are chunks of at most 500 rows or 1 MiB of text along an index; the readiness probe and
   * the pruning of idempotency keys take milliseconds.
   */
  statementTimeoutMs: number;
  /**
   * Server: the longest a writer waits for the table lock another one holds (another instance's
   * commit): well above what a commit of the largest batch of the slowest text holds it for, while
   * one of small events holds it a fraction of a second. Past it the write is refused, not
   * recorded, and a retry is safe.
   */
  lockTimeoutMs: number;
  /** What every write's transaction is given, whatever its size: the lock wait and a small commit's round trips. */
  writeBaseMs: number;
  /**
   * And per MiB of event text in the commit: several times what inserting 1 MiB of double quotes
   * takes, the slowest text to insert (each is escaped twice on its way).
   */
  writeMsPerMib: number;
  /**
   * Client: how much longer than the server's own bound it waits for an answer before it takes the
   * connection for stalled and destroys it. So a server that is only slow ends a statement itself
   * first, with an error that leaves no doubt about what was recorded.
   */
  stallMarginMs: number;
};

export const POSTGRES_BOUNDS: PostgresBounds = {
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 10_000,
  writeBaseMs: 15_000,
  writeMsPerMib: 1000,
  stallMarginMs: 5000,
};

/** The pool settings that bound every session and every answer by `bounds`. */
export function sessionBounds(bounds: PostgresBounds): pg.PoolConfig {
  return {
    statement_timeout: bounds.statementTimeoutMs,
    lock_timeout: bounds.lockTimeoutMs,
    // Only the readiness probe's transaction keeps it: each write sets its own budget.
    idle_in_transaction_session_timeout: bounds.writeBaseMs,
    query_timeout: bounds.statementTimeoutMs + bounds.stallMarginMs,
  };
}

/** The time a write's transaction is given, for `textBytes` of event text (statements and idle time alike). */
export function writeBudgetMs(bounds: PostgresBounds, textBytes: number): number {
  return bounds.writeBaseMs + Math.ceil((textBytes / (1024 * 1024)) * bounds.writeMsPerMib);
}

/**
 * A query config with a client-side bound on its answer (pg reads `query_timeout` per query, which
 * its types leave out): past it, pg fails the query, and releasing the client with that error
 * destroys the connection.
 */
export function boundedQuery(text: string, values: unknown[] | undefined, timeoutMs: number): pg.QueryConfig {
  const config: pg.QueryConfig & { query_timeout: number } = { text, query_timeout: timeoutMs, ...(values === undefined ? {} : { values }) };
  return config;
}

/** What the writer's statements need of a connection: a query, with its values. */
export type Queryable = {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
};

/** `client`, each query of which waits at most `timeoutMs` for its answer (see boundedQuery). */
export function withAnswerTimeout(client: pg.ClientBase, timeoutMs: number): Queryable {
  return { query: (text, values) => client.query(boundedQuery(text, values, timeoutMs)) };
}
