import type { DeliverySettings } from './delivery/sink-deliverer.js';
import { hashKey, type KeyDigest } from './auth/keys-file.js';
import { parseRateLimit } from './auth/rate-limiter.js';
import { parseTrustedProxies, type ProxyRange } from './auth/trusted-proxies.js';
import { parseWitnessKeys, WitnessKeysError } from './integrity/accept-cosignatures.js';
import { parseCorsOrigins } from './http/cors.js';
import { LOG_LEVELS, type LogLevel } from './ops/logger.js';
import { parseRetentionPolicy, type RetentionPolicy } from './retention/retention-policy.js';
import { parseIndexedFields, type IndexedField } from './store/indexed-fields.js';
import type { VerifierKey } from '../verifier/signed-note.js';

/** Everything the service reads from its environment, checked once at start-up. */
export type Config = {
  port: number;
  host: string;
  /**
   * The SHA-256 of AUDITOR_API_KEY, hashed here where it is read: the key itself is never kept.
   * Undefined when none is configured: main.ts then generates one for this run.
   */
  apiKeySha256: KeyDigest | undefined;
  database: DatabaseLocation;
  /** AUDITOR_ALLOW_NEW_DATABASE=1: start a new, empty SQLite log where an earlier one's chain secret is. */
  allowNewDatabase: boolean;
  /** The keys file written by `npm run keys`. */
  keysFile: string;
  maxBodyBytes: number;
  /** The memory all answers that hold events share, in characters of event text (see memory-budget.ts). */
  responseMemoryBytes: number;
  /** The memory all request bodies in flight share, in bytes. */
  requestMemoryBytes: number;
  /** Keys the tamper-evident chain; undefined means the secret file beside the database. */
  chainSecret: string | undefined;
  /** The log's signing key file (AUDITOR_SIGNING_KEY_FILE); with SQLite, unset means signing.key beside the database. */
  signingKeyFile: string | undefined;
  /** The log's origin, the name its checkpoints are signed under (AUDITOR_LOG_ORIGIN); unset: the key's own name. */
  logOrigin: string | undefined;
  /** How often a new checkpoint is signed when the tree has grown, in ms (AUDITOR_CHECKPOINT_INTERVAL). */
  checkpointIntervalMs: number;
  /** Requests per second per key, with a burst; a rate of 0 is no limit. */
  rateLimit: RateLimit;
  /** Failed authentications per second per client address, with a burst; 0 is no limit. */
  failedAuthLimit: RateLimit;
  /** Peers whose Forwarded / X-Forwarded-For headers name the client; none by default. */
  trustedProxies: ProxyRange[];
  /** AUDITOR_CORS_ORIGINS: the origins whose pages may call from a browser; none by default. */
  corsOrigins: string[];
  /** A second port serving GET /metrics without a key; undefined serves it only behind an admin key. */
  metricsPort: number | undefined;
  logLevel: LogLevel;
  /** AUDITOR_WITNESS_KEYS: the witnesses whose cosignatures POST /checkpoint/cosignatures keeps; none by default. */
  witnessKeys: VerifierKey[];
  /** AUDITOR_INDEXED_FIELDS: the fields of `data` indexed for queries; none by default. */
  indexedFields: IndexedField[];
  /** AUDITOR_RETENTION: how long events keep their payload, by type; undefined keeps everything (the default). */
  retention: RetentionPolicy | undefined;
  /** AUDITOR_RETENTION_INTERVAL: how often the retention job runs, in ms. */
  retentionIntervalMs: number;
  /** The live streams of GET /events/stream (see src/stream/live-streams.ts). */
  streams: StreamSettings;
  /** The webhook sinks' deliveries (see src/delivery/sink-deliverer.ts). */
  delivery: DeliverySettings;
};

export type StreamSettings = {
  /** AUDITOR_STREAMS_PER_KEY: how many streams one key may hold open at once. */
  perKey: number;
  /** AUDITOR_STREAM_HEARTBEAT: how often an idle stream sends a comment, in ms. */
  heartbeatMs: number;
  /** AUDITOR_STREAM_POLL: how often the log's head is read for events this process did not write, in ms. */
  pollMs: number;
};

export type RateLimit = { ratePerSecond: number; burst: number };

/** AUDITOR_DB: a SQLite file (the default), or a PostgreSQL server given by a postgres:// URL. */
export type DatabaseLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** Every bad variable at once, one line each, so a broken deployment is fixed in one go. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

export const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  dbPath: 'data/auditor.db',
  keysFile: 'data/keys.json',
  maxBodyBytes: 1024 * 1024,
  responseMemoryBytes: 64 * 1024 * 1024,
  requestMemoryBytes: 64 * 1024 * 1024,
  rateLimit: '0',
  failedAuthLimit: '1:10',
  checkpointIntervalMs: 1000,
  retentionIntervalMs: 60_000,
  streamsPerKey: 10,
  streamHeartbeatMs: 15_000,
  streamPollMs: 250,
  sinkBatchSize: 100,
  sinkBatchWaitMs: 1000,
  sinkTimeoutMs: 10_000,
  sinkBackoffMs: 1000,
  sinkMaxBackoffMs: 5 * 60_000,
} as const;

/** A key must survive an HTTP header unchanged and resist guessing. */
const MIN_API_KEY_LENGTH = 16;
/** The chain's HMAC key: at least 256 bits' worth of hex. */
const MIN_CHAIN_SECRET_LENGTH = 32;

/** What reading the configuration may be told, for an entry point that is not the service. */
export type ConfigOptions = {
  /**
   * Whether a PostgreSQL AUDITOR_DB requires AUDITOR_CHAIN_SECRET (true, the default: for whatever
   * writes to or verifies that database). migrate-to-postgres copies a SQLite log chained with the
   * secret beside it, which it finds there; it must not be sent to generate a new one.
   */
  requireChainSecret?: boolean;
};

export function loadConfig(env: Record<string, string | undefined>, options: ConfigOptions = {}): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const text = read(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${text}"`);
      return fallback;
    }
    return value;
  };

  const duration = (name: string, fallback: number, min: number, max: number): number => {
    const text = read(name);
    if (text === undefined) return fallback;
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
    const ms = match === null ? NaN : Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
    if (!(ms >= min && ms <= max)) {
      problems.push(`${name}: expected a duration from ${min} ms to ${max / 3_600_000} h such as 500ms, 1s or 5m, got "${text}"`);
      return fallback;
    }
    return Math.round(ms);
  };

  const apiKey = read('AUDITOR_API_KEY');
  if (apiKey !== undefined && !/^[\x21-\x7e]+$/.test(apiKey)) {
    problems.push('AUDITOR_API_KEY: use visible ASCII characters only (no spaces), as it travels in a header');
  } else if (apiKey !== undefined && apiKey.length < MIN_API_KEY_LENGTH) {
    problems.push(`AUDITOR_API_KEY: must be at least ${MIN_API_KEY_LENGTH} characters (try: openssl rand -hex 32)`);
  }

  const chainSecret = read('AUDITOR_CHAIN_SECRET');
  if (chainSecret !== undefined && chainSecret.length < MIN_CHAIN_SECRET_LENGTH) {
    problems.push(`AUDITOR_CHAIN_SECRET: must be at least ${MIN_CHAIN_SECRET_LENGTH} characters (try: openssl rand -hex 32)`);
  }

  const database = databaseLocation(read('AUDITOR_DB') ?? DEFAULTS.dbPath, problems);
  if (database.kind === 'postgres' && chainSecret === undefined && options.requireChainSecret !== false) {
    // Instances sharing a database must share the secret, so none can be generated beside the data.
    problems.push('AUDITOR_CHAIN_SECRET: required with a PostgreSQL AUDITOR_DB, the same for every instance (try: openssl rand -hex 32)');
  }

  const signingKeyFile = read('AUDITOR_SIGNING_KEY_FILE');
  if (database.kind === 'postgres' && signingKeyFile === undefined && options.requireChainSecret !== false) {
    problems.push('AUDITOR_SIGNING_KEY_FILE: required with a PostgreSQL AUDITOR_DB, the same file for every instance (create one with npm run signing-key -- --origin <name> --out <file>)');
  }
  const logOrigin = read('AUDITOR_LOG_ORIGIN');
  if (logOrigin !== undefined && !/^[^\s+]+$/.test(logOrigin)) problems.push(`AUDITOR_LOG_ORIGIN: a name without spaces or plus signs, such as example.com/audit, got "${logOrigin}"`);

  const allowNewDatabase = read('AUDITOR_ALLOW_NEW_DATABASE');
  if (allowNewDatabase !== undefined && allowNewDatabase !== '1' && allowNewDatabase !== '0') {
    problems.push(`AUDITOR_ALLOW_NEW_DATABASE: expected 1 (or 0, the default), got "${allowNewDatabase}"`);
  }

  const rate = (name: string, fallback: string): RateLimit => {
    const text = read(name) ?? fallback;
    const parsed = parseRateLimit(text);
    if (parsed === undefined) {
      problems.push(`${name}: expected requests per second, optionally :burst (such as 100 or 100:500), got "${text}"`);
      return { ratePerSecond: 0, burst: 0 };
    }
    return parsed;
  };

  const logLevel = (text: string | undefined): LogLevel => {
    if (text === undefined) return 'info';
    if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
    problems.push(`AUDITOR_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
    return 'info';
  };

  const trustedProxies = parseTrustedProxies(read('AUDITOR_TRUSTED_PROXIES') ?? '');
  if (trustedProxies.bad.length > 0) {
    const entries = trustedProxies.bad.map((entry) => `"${entry}"`).join(', ');
    problems.push(`AUDITOR_TRUSTED_PROXIES: not an IP address or CIDR: ${entries}; expected a comma-separated list such as 10.0.0.0/8, 192.168.1.10, fd00::/8`);
  }

  const corsOrigins = parseCorsOrigins(read('AUDITOR_CORS_ORIGINS') ?? '');
  if (corsOrigins.bad.length > 0) {
    const entries = corsOrigins.bad.map((entry) => `"${entry}"`).join(', ');
    problems.push(`AUDITOR_CORS_ORIGINS: not an origin: ${entries}; expected a comma-separated list such as https://audit.example.com, http://localhost:3000 (scheme, host and port, no path)`);
  }

  const witnessKeys = (text: string): VerifierKey[] => {
    try {
      return parseWitnessKeys(text);
    } catch (error) {
      if (!(error instanceof WitnessKeysError)) throw error;
      problems.push(...error.problems.map((problem) => `AUDITOR_WITNESS_KEYS: ${problem}`));
      return [];
    }
  };

  const indexedFields = parseIndexedFields(read('AUDITOR_INDEXED_FIELDS') ?? '');
  problems.push(...indexedFields.problems.map((problem) => `AUDITOR_INDEXED_FIELDS: ${problem}; expected a comma-separated list such as ip,invoice_id,address.city`));

  const retention = parseRetentionPolicy(read('AUDITOR_RETENTION') ?? '');
  problems.push(...retention.problems.map((problem) => `AUDITOR_RETENTION: ${problem}; expected a comma-separated list such as default=400d,login=90d,payment=7y`));

  const config: Config = {
    port: integer('PORT', DEFAULTS.port, 0, 65535),
    host: read('HOST') ?? DEFAULTS.host,
    apiKeySha256: apiKey === undefined ? undefined : hashKey(apiKey),
    database,
    allowNewDatabase: allowNewDatabase === '1',
    keysFile: read('AUDITOR_KEYS_FILE') ?? DEFAULTS.keysFile,
    maxBodyBytes: integer('AUDITOR_MAX_BODY_BYTES', DEFAULTS.maxBodyBytes, 1, 1024 * 1024 * 1024),
    // At least one page of events (GET /events with limit) and the chunk read past it.
    responseMemoryBytes: integer('AUDITOR_RESPONSE_MEMORY_BYTES', DEFAULTS.responseMemoryBytes, 5 * 1024 * 1024, 64 * 1024 * 1024 * 1024),
    requestMemoryBytes: integer('AUDITOR_REQUEST_MEMORY_BYTES', DEFAULTS.requestMemoryBytes, 1024 * 1024, 64 * 1024 * 1024 * 1024),
    chainSecret,
    signingKeyFile,
    logOrigin,
    checkpointIntervalMs: duration('AUDITOR_CHECKPOINT_INTERVAL', DEFAULTS.checkpointIntervalMs, 10, 24 * 60 * 60 * 1000),
    rateLimit: rate('AUDITOR_RATE_LIMIT', DEFAULTS.rateLimit),
    failedAuthLimit: rate('AUDITOR_FAILED_AUTH_LIMIT', DEFAULTS.failedAuthLimit),
    trustedProxies: trustedProxies.ranges,
    corsOrigins: corsOrigins.origins,
    metricsPort: read('AUDITOR_METRICS_PORT') === undefined ? undefined : integer('AUDITOR_METRICS_PORT', 0, 0, 65535),
    logLevel: logLevel(read('AUDITOR_LOG_LEVEL')),
    witnessKeys: witnessKeys(read('AUDITOR_WITNESS_KEYS') ?? ''),
    indexedFields: indexedFields.fields,
    retention: retention.policy,
    retentionIntervalMs: duration('AUDITOR_RETENTION_INTERVAL', DEFAULTS.retentionIntervalMs, 1000, 24 * 60 * 60 * 1000),
    streams: {
      perKey: integer('AUDITOR_STREAMS_PER_KEY', DEFAULTS.streamsPerKey, 0, 10_000),
      heartbeatMs: duration('AUDITOR_STREAM_HEARTBEAT', DEFAULTS.streamHeartbeatMs, 100, 5 * 60 * 1000),
      pollMs: duration('AUDITOR_STREAM_POLL', DEFAULTS.streamPollMs, 10, 60 * 1000),
    },
    delivery: {
      batchSize: integer('AUDITOR_SINK_BATCH_SIZE', DEFAULTS.sinkBatchSize, 1, 1000),
      batchWaitMs: duration('AUDITOR_SINK_BATCH_WAIT', DEFAULTS.sinkBatchWaitMs, 0, 60 * 1000),
      timeoutMs: duration('AUDITOR_SINK_TIMEOUT', DEFAULTS.sinkTimeoutMs, 100, 5 * 60 * 1000),
      backoffMs: DEFAULTS.sinkBackoffMs,
      maxBackoffMs: duration('AUDITOR_SINK_MAX_BACKOFF', DEFAULTS.sinkMaxBackoffMs, 1000, 60 * 60 * 1000),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** AUDITOR_DB's value read as a location: a postgres:// or postgresql:// URL, or else a file path. */
export function parseDatabaseLocation(text: string): DatabaseLocation {
  return /^postgres(ql)?:/i.test(text) ? { kind: 'postgres', url: text } : { kind: 'sqlite', path: text };
}

function databaseLocation(text: string, problems: string[]): DatabaseLocation {
  const location = parseDatabaseLocation(text);
  if (location.kind === 'postgres' && !URL.canParse(location.url)) {
    problems.push('AUDITOR_DB: not a valid URL; expected postgres://user:password@host:port/database');
  } else if (location.kind === 'sqlite' && /^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    // mysql://… would otherwise become a folder named "mysql:" holding a new SQLite file.
    problems.push(`AUDITOR_DB: "${text.split(':')[0]}" URLs are not supported; use a postgres:// (or postgresql://) URL, or a SQLite file path`);
  }
  return location;
}

/** The database as a log line may show it: a PostgreSQL URL without its password. */
export function describeDatabase(database: DatabaseLocation): string {
  if (database.kind === 'sqlite') return database.path;
  const url = new URL(database.url);
  if (url.password !== '') url.password = '***';
  // pg takes every query parameter as a setting, so ?password=… (or sslpassword) works too.
  for (const name of [...url.searchParams.keys()]) if (/pass/i.test(name)) url.searchParams.set(name, '***');
  return url.toString();
}
