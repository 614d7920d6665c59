import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashKey } from '../src/auth/keys-file.js';
import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, describeDatabase, loadConfig } from '../src/config.js';
import { fieldIndexName, MAX_INDEXED_FIELDS } from '../src/store/indexed-fields.js';
import { rawPublicKey } from '../verifier/ed25519.js';
import { COSIGNATURE_V1, ED25519, formatVerifierKey } from '../verifier/signed-note.js';

describe('loadConfig', () => {
  it('applies defaults when nothing is set', () => {
    assert.deepEqual(loadConfig({}), {
      port: 8080,
      host: '127.0.0.1',
      apiKeySha256: undefined,
      database: { kind: 'sqlite', path: 'data/auditor.db' },
      allowNewDatabase: false,
      keysFile: 'data/keys.json',
      maxBodyBytes: 1048576,
      responseMemoryBytes: 67108864,
      requestMemoryBytes: 67108864,
      chainSecret: undefined,
      signingKeyFile: undefined,
      logOrigin: undefined,
      checkpointIntervalMs: 1000,
      rateLimit: { ratePerSecond: 0, burst: 1 },
      failedAuthLimit: { ratePerSecond: 1, burst: 10 },
      trustedProxies: [],
      corsOrigins: [],
      metricsPort: undefined,
      logLevel: 'info',
      witnessKeys: [],
      indexedFields: [],
      retention: undefined,
      retentionIntervalMs: 60000,
      streams: { perKey: 10, heartbeatMs: 15_000, pollMs: 250 },
      delivery: { batchSize: 100, batchWaitMs: 1000, timeoutMs: 10_000, backoffMs: 1000, maxBackoffMs: 300_000 },
    });
  });

  it('reads every variable', () => {
    assert.deepEqual(
      loadConfig({
        PORT: '9000',
        HOST: '0.0.0.0',
        AUDITOR_API_KEY: 'k'.repeat(32),
        AUDITOR_DB: '/var/lib/auditor/events.db',
        AUDITOR_ALLOW_NEW_DATABASE: '1',
        AUDITOR_MAX_BODY_BYTES: '2048',
        AUDITOR_RESPONSE_MEMORY_BYTES: '16777216',
        AUDITOR_REQUEST_MEMORY_BYTES: '8388608',
        AUDITOR_CHAIN_SECRET: 's'.repeat(64),
        AUDITOR_KEYS_FILE: '/etc/auditor/keys.json',
        AUDITOR_RATE_LIMIT: '100',
        AUDITOR_FAILED_AUTH_LIMIT: '0.5:3',
        AUDITOR_TRUSTED_PROXIES: '10.0.0.0/8, ::1',
        AUDITOR_CORS_ORIGINS: 'https://audit.example.com, http://localhost:3000',
        AUDITOR_METRICS_PORT: '9464',
        AUDITOR_LOG_LEVEL: 'warn',
        AUDITOR_SIGNING_KEY_FILE: '/etc/auditor/signing.key',
        AUDITOR_LOG_ORIGIN: 'audit.example.com/prod',
        AUDITOR_CHECKPOINT_INTERVAL: '250ms',
        AUDITOR_INDEXED_FIELDS: 'ip, address.city,data.ip',
        AUDITOR_RETENTION: 'default=400d, login = 90d,payment=7y',
        AUDITOR_RETENTION_INTERVAL: '5m',
        AUDITOR_STREAMS_PER_KEY: '3',
        AUDITOR_STREAM_HEARTBEAT: '30s',
        AUDITOR_STREAM_POLL: '1s',
        AUDITOR_SINK_BATCH_SIZE: '500',
        AUDITOR_SINK_BATCH_WAIT: '0s',
        AUDITOR_SINK_TIMEOUT: '30s',
        AUDITOR_SINK_MAX_BACKOFF: '1h',
      }),
      {
        port: 9000, host: '0.0.0.0', apiKeySha256: hashKey('k'.repeat(32)), database: { kind: 'sqlite', path: '/var/lib/auditor/events.db' },
        allowNewDatabase: true, keysFile: '/etc/auditor/keys.json', maxBodyBytes: 2048, responseMemoryBytes: 16777216, requestMemoryBytes: 8388608, chainSecret: 's'.repeat(64),
        signingKeyFile: '/etc/auditor/signing.key', logOrigin: 'audit.example.com/prod', checkpointIntervalMs: 250,
        rateLimit: { ratePerSecond: 100, burst: 200 }, failedAuthLimit: { ratePerSecond: 0.5, burst: 3 },
        trustedProxies: [{ network: '10.0.0.0', prefix: 8, family: 'ipv4' }, { network: '::1', prefix: 128, family: 'ipv6' }],
        corsOrigins: ['https://audit.example.com', 'http://localhost:3000'],
        metricsPort: 9464,
        logLevel: 'warn',
        witnessKeys: [],
        indexedFields: [
          { name: 'ip', path: ['ip'], index: fieldIndexName(['ip']) },
          { name: 'address.city', path: ['address', 'city'], index: fieldIndexName(['address', 'city']) },
        ],
        retention: {
          text: 'default=400d,login=90d,payment=7y',
          defaultAgeMs: 400 * 86_400_000,
          ageByType: new Map([['login', 90 * 86_400_000], ['payment', 7 * 365 * 86_400_000]]),
        },
        retentionIntervalMs: 300_000,
        streams: { perKey: 3, heartbeatMs: 30_000, pollMs: 1000 },
        delivery: { batchSize: 500, batchWaitMs: 0, timeoutMs: 30_000, backoffMs: 1000, maxBackoffMs: 3_600_000 },
      },
    );
  });

  it('refuses an AUDITOR_INDEXED_FIELDS entry that names no field, and more fields than an index each is worth', () => {
    assert.throws(() => loadConfig({ AUDITOR_INDEXED_FIELDS: 'ip,address.,.x' }), (error: ConfigError) => {
      assert.deepEqual(error.problems, [
        'AUDITOR_INDEXED_FIELDS: "address." is not a field name: a dotted path needs a name on each side of every dot; expected a comma-separated list such as ip,invoice_id,address.city',
        'AUDITOR_INDEXED_FIELDS: ".x" is not a field name: a dotted path needs a name on each side of every dot; expected a comma-separated list such as ip,invoice_id,address.city',
      ]);
      return true;
    });
    const many = Array.from({ length: MAX_INDEXED_FIELDS + 1 }, (_, i) => `f${i}`).join(',');
    assert.throws(() => loadConfig({ AUDITOR_INDEXED_FIELDS: many }), new RegExp(`at most ${MAX_INDEXED_FIELDS} fields may be declared, not ${MAX_INDEXED_FIELDS + 1}`));
  });

  it('reads AUDITOR_WITNESS_KEYS as cosigner keys, and refuses a bad one by its place in the list', () => {
    const witness = (name: string, algorithm: number): string => formatVerifierKey(name, algorithm, rawPublicKey(generateKeyPairSync('ed25519').privateKey));
    const [w1, w2] = [witness('witness.example/w1', COSIGNATURE_V1), witness('witness.example/w2', COSIGNATURE_V1)];
    const keys = loadConfig({ AUDITOR_WITNESS_KEYS: ` ${w1}, ${w2} ` }).witnessKeys;
    assert.deepEqual(keys.map((key) => formatVerifierKey(key.name, key.algorithm, key.publicKey)), [w1, w2]);
    const logKey = witness('log.example', ED25519);
    assert.throws(
      () => loadConfig({ AUDITOR_WITNESS_KEYS: `${w1},${logKey}`, PORT: 'eighty' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems, [
          'PORT: expected a whole number from 0 to 65535, got "eighty"',
          `AUDITOR_WITNESS_KEYS: key 2 (${JSON.stringify(`${logKey.slice(0, 40)}…`)}): is a log's signing key (algorithm 1), not a witness's cosigner key (algorithm 4); use the key \`npm run witness -- --print-key\` prints`,
        ]);
        return true;
      },
    );
  });

  it('reads a postgres:// AUDITOR_DB as PostgreSQL, which needs the chain secret and the signing key its instances share', () => {
    const url = 'postgresql://auditor:s3cret@db.internal:5432/audit?sslmode=require';
    const secret = 's'.repeat(32);
    const key = '/etc/auditor/signing.key';
    assert.deepEqual(loadConfig({ AUDITOR_DB: url, AUDITOR_CHAIN_SECRET: secret, AUDITOR_SIGNING_KEY_FILE: key }).database, { kind: 'postgres', url });
    assert.throws(() => loadConfig({ AUDITOR_DB: url, AUDITOR_SIGNING_KEY_FILE: key }), /^ConfigError: AUDITOR_CHAIN_SECRET: required with a PostgreSQL AUDITOR_DB/);
    assert.throws(() => loadConfig({ AUDITOR_DB: url, AUDITOR_CHAIN_SECRET: secret }), /^ConfigError: AUDITOR_SIGNING_KEY_FILE: required with a PostgreSQL AUDITOR_DB, the same file for every instance/);
    // migrate-to-postgres: the copy is checked with the SQLite log's own secret, found beside it.
    assert.deepEqual(loadConfig({ AUDITOR_DB: url }, { requireChainSecret: false }).database, { kind: 'postgres', url });
    assert.throws(() => loadConfig({ AUDITOR_DB: 'postgres://[bad', AUDITOR_CHAIN_SECRET: secret, AUDITOR_SIGNING_KEY_FILE: key }), /AUDITOR_DB: not a valid URL/);
    assert.throws(() => loadConfig({ AUDITOR_DB: 'mysql://db.internal/audit' }), /^ConfigError: AUDITOR_DB: "mysql" URLs are not supported; use a postgres:\/\/ \(or postgresql:\/\/\) URL, or a SQLite file path$/);
    assert.deepEqual(loadConfig({ AUDITOR_DB: 'data/a:b.db' }).database, { kind: 'sqlite', path: 'data/a:b.db' });
    assert.equal(describeDatabase({ kind: 'postgres', url }), 'postgresql://auditor:***@db.internal:5432/audit?sslmode=require');
    assert.equal(
      describeDatabase({ kind: 'postgres', url: 'postgres://auditor@db.internal/audit?password=s3cret&sslpassword=k3y&sslmode=require' }),
      'postgres://auditor@db.internal/audit?password=***&sslpassword=***&sslmode=require',
    );
    assert.equal(describeDatabase({ kind: 'sqlite', path: 'data/auditor.db' }), 'data/auditor.db');
  });

  it('reports every bad value at once, one line naming each variable', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', AUDITOR_MAX_BODY_BYTES: '-1', AUDITOR_API_KEY: 'short' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems.length, 3);
        assert.match(error.problems[0]!, /^AUDITOR_API_KEY: must be at least 16 characters/);
        assert.match(error.problems[1]!, /^PORT: expected a whole number from 0 to 65535, got "eighty"$/);
        assert.match(error.problems[2]!, /^AUDITOR_MAX_BODY_BYTES: /);
        return true;
      },
    );
    assert.throws(() => loadConfig({ PORT: '70000' }), /PORT/);
    assert.throws(() => loadConfig({ PORT: '80.5' }), /PORT/);
    assert.throws(() => loadConfig({ AUDITOR_API_KEY: 'has a space in it, sadly' }), /AUDITOR_API_KEY: use visible ASCII/);
    assert.throws(() => loadConfig({ AUDITOR_ALLOW_NEW_DATABASE: 'yes' }), /AUDITOR_ALLOW_NEW_DATABASE: expected 1 \(or 0, the default\), got "yes"/);
    assert.throws(() => loadConfig({ AUDITOR_LOG_LEVEL: 'loud' }), /AUDITOR_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"/);
    assert.throws(() => loadConfig({ AUDITOR_RATE_LIMIT: 'fast' }), /AUDITOR_RATE_LIMIT: expected requests per second/);
    assert.throws(() => loadConfig({ AUDITOR_FAILED_AUTH_LIMIT: '5:0' }), /AUDITOR_FAILED_AUTH_LIMIT/);
    assert.throws(
      () => loadConfig({ AUDITOR_TRUSTED_PROXIES: '10.0.0.0/8, 10.0.0.0/33, proxy.internal' }),
      /^ConfigError: AUDITOR_TRUSTED_PROXIES: not an IP address or CIDR: "10.0.0.0\/33", "proxy.internal"; expected a comma-separated list such as 10.0.0.0\/8, 192.168.1.10, fd00::\/8$/,
    );
    assert.throws(
      () => loadConfig({ AUDITOR_CORS_ORIGINS: 'https://ok.example, https://x.example/path, *, ftp://f.example, https://Upper.example' }),
      /^ConfigError: AUDITOR_CORS_ORIGINS: not an origin: "https:\/\/x.example\/path", "\*", "ftp:\/\/f.example", "https:\/\/Upper.example"; expected a comma-separated list such as https:\/\/audit.example.com, http:\/\/localhost:3000 \(scheme, host and port, no path\)$/,
    );
    assert.throws(() => loadConfig({ AUDITOR_CHAIN_SECRET: 'too-short' }), /^ConfigError: AUDITOR_CHAIN_SECRET: must be at least 32 characters/);
    for (const interval of ['1', 'fast', '5ms', '2d', '-1s']) {
      assert.throws(() => loadConfig({ AUDITOR_CHECKPOINT_INTERVAL: interval }), new RegExp(`^ConfigError: AUDITOR_CHECKPOINT_INTERVAL: expected a duration from 10 ms to 24 h such as 500ms, 1s or 5m, got "${interval}"$`));
    }
    assert.equal(loadConfig({ AUDITOR_CHECKPOINT_INTERVAL: '1.5s' }).checkpointIntervalMs, 1500);
    assert.equal(loadConfig({ AUDITOR_CHECKPOINT_INTERVAL: '5m' }).checkpointIntervalMs, 300_000);
    assert.throws(() => loadConfig({ AUDITOR_LOG_ORIGIN: 'has space' }), /^ConfigError: AUDITOR_LOG_ORIGIN: a name without spaces or plus signs, such as example.com\/audit, got "has space"$/);
    assert.throws(() => loadConfig({ AUDITOR_LOG_ORIGIN: 'a+b' }), /AUDITOR_LOG_ORIGIN: a name without spaces or plus signs/);
  });
});
