/**
 * The real service with one difference: its store writes events without their chain link. The
 * benchmark runs it beside the real service to measure what the tamper-evident chain costs. Not
 * a way to run Auditor: `npm run verify` reports its events as breaks.
 */
import { createApp } from '../src/app.js';
import { createKeyRegistry } from '../src/auth/key-registry.js';
import { hashKey } from '../src/auth/keys-file.js';
import { createHttpServer } from '../src/http/create-http-server.js';
import { createJsonLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import { openSqliteEventStore } from '../src/store/sqlite/sqlite-event-store.js';

const log = createJsonLogger();
const metrics = createMetrics({ databaseBytes: () => store.sizeBytes() });
const store = openSqliteEventStore(process.env.AUDITOR_DB ?? '', { unchainedForBenchmark: true, onBatchCommitted: metrics.batchCommitted });
const keys = createKeyRegistry({ adminKeySha256: adminKeySha256(process.env.AUDITOR_API_KEY), log });
const server = createHttpServer(createApp({ store, keys, metrics, maxBodyBytes: 1024 * 1024, log }), { log, metrics });
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => void store.close());
  server.closeAllConnections();
});

function adminKeySha256(key: string | undefined) {
  return key === undefined ? undefined : hashKey(key);
}
