import pg from 'pg';

/**
 * SQLSTATE classes and codes of a condition of the server rather than of the statement: the
 * connection (08), resources such as a full disk (53), an operator or a crash ending sessions
 * (57P01–57P03), a statement or lock wait cut by a timeout (57014, 55P03), a session ended for
 * idling in a transaction (25P03), a read-only server (25006), an I/O error (58).
 */
const SERVER_CONDITIONS = /^(08|53|58|57P0[123]$|57014$|55P03$|25P03$|25006$)/;
/** Errors of the network under the connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** pg's own words for a connection that broke, never came, or did not answer in time. */
const CLIENT_CONDITIONS = /^(Connection terminated|timeout exceeded when trying to connect|timeout expired|Query read timeout|Client has encountered a connection error)/;

/**
 * Whether PostgreSQL refused the rows themselves (SQLSTATE class 22, data exception, or 23,
 * integrity constraint), so that the submission they belong to fails alone and the rest of the
 * transaction goes on. Anything else (a lost connection, a full disk, a shutdown) fails the whole
 * transaction, and keeps its code for recognisePostgresFailure.
 */
export function isRowRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** The reason a PostgreSQL operation failed, when it is a condition the service recognises (see RecogniseFailure). */
export function recognisePostgresFailure(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error instanceof pg.DatabaseError) return error.code !== undefined && SERVER_CONDITIONS.test(error.code) ? error.message : undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return `the database cannot be reached (${error.message})`;
  if (CLIENT_CONDITIONS.test(error.message)) return `the database cannot be reached or did not answer in time (${error.message})`;
  return undefined;
}

/**
 * Whether the server answered with `error` for an ordinary statement, so that the connection is
 * sound and what it refused did not happen (a COMMIT it refused did not commit). Anything else (no
 * answer, a broken connection, a session the server ended) leaves the connection unusable, and a
 * COMMIT sent before it in doubt.
 */
export function serverAnswered(error: unknown): boolean {
  return error instanceof pg.DatabaseError && error.severity === 'ERROR';
}
