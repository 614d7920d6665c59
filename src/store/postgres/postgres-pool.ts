import pg from 'pg';
import { sessionBounds, type PostgresBounds } from './postgres-bounds.js';

/** Connections per instance: the writer holds one per commit batch in flight; readers share the rest. */
const POOL_SIZE = 10;
/** How long a request waits for a connection (a database that is down fails fast, as a 503). */
const CONNECT_TIMEOUT_MS = 2000;

const INT8 = 20;
const JSON_TYPE = 114;

/**
 * What the store reads back, as the store uses it: `bigint` columns (seq, ts) as numbers, which
 * they fit (milliseconds and counts far below 2^53); `json` as its text, untouched, since `data`
 * must come back exactly as it was written.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return (text: string) => Number(text);
    if (oid === JSON_TYPE) return (text: string) => text;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * A connection pool for `url` (any libpq-style postgres:// URL; `?options=-c search_path=…`
 * selects a schema). Every connection commits synchronously, whatever the server's default:
 * an acknowledged event must be on disk. The service's pool is bounded by `bounds` (see
 * postgres-bounds.ts); the command-line tools' are not, since a long copy is not a stall.
 */
export function createPostgresPool(url: string, bounds?: PostgresBounds): pg.Pool {
  const pool = new pg.Pool({
    connectionString: withSynchronousCommit(url),
    max: POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    types,
    ...(bounds === undefined ? {} : sessionBounds(bounds)),
  });
  // An idle connection the server dropped (a restart, a failover) is only reported here; without
  // a listener it would crash the process. The pool replaces it on the next query, and readiness
  // probes report the database down in the meantime.
  pool.on('error', () => undefined);
  return pool;
}

/** `url` with synchronous_commit=on added to the session settings it may already carry (`options`). */
function withSynchronousCommit(url: string): string {
  const parsed = new URL(url);
  const options = parsed.searchParams.get('options');
  parsed.searchParams.set('options', `${options === null ? '' : `${options} `}-c synchronous_commit=on`);
  return parsed.toString();
}
