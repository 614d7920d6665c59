/**
 * The benchmark's baseline: the real app (routing, key check, body reading, parsing, validation,
 * logging, the 201 answer) over a store that hands back an id without storing anything. The ratio
 * of the real service to this server is the cost of storage, and nothing else.
 */
import { createApp } from '../src/app.js';
import { createKeyRegistry } from '../src/auth/key-registry.js';
import { hashKey } from '../src/auth/keys-file.js';
import { createHttpServer } from '../src/http/create-http-server.js';
import { createUuidV7Generator } from '../src/events/uuid-v7.js';
import { createJsonLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import type { NewEvent, StoredEvent } from '../src/events/event.js';
import type { EventStore } from '../src/store/event-store.js';

const nextId = createUuidV7Generator();
let seq = 0;
const pretendToStore = ({ userId, eventType, dataJson }: NewEvent): StoredEvent => {
  const { id, timestampMs } = nextId();
  return { id, timestampMs, seq: ++seq, userId, eventType, dataJson };
};
const store: EventStore = {
  append: async (event) => pretendToStore(event),
  appendAll: async (events) => events.map(pretendToStore),
  async *query() {},
  summarize: () => Promise.reject(new Error('the baseline keeps no events')),
  get: async () => undefined,
  checkpoint: () => Promise.reject(new Error('the baseline keeps no chain')),
  verifierKey: 'baseline.example/log+00000000+AQ==',
  signedCheckpoint: () => Promise.reject(new Error('the baseline keeps no tree')),
  inclusionProof: () => Promise.reject(new Error('the baseline keeps no tree')),
  consistencyProof: () => Promise.reject(new Error('the baseline keeps no tree')),
  saveCosignatures: () => Promise.reject(new Error('the baseline keeps no tree')),
  removals: {
    removePayloads: () => Promise.reject(new Error('the baseline keeps no events')),
    reclaimSpace: async () => {},
    nextTypeWithPayload: async () => undefined,
    payloadsRecordedBefore: async () => [],
    pseudonymOf: ({ value }) => `erased-${value}`,
  },
  sinks: {
    list: async () => [],
    change: () => Promise.reject(new Error('the baseline keeps no sinks')),
  },
  sizeBytes: async () => 0,
  isReady: async () => true,
  close: async () => {},
};

const log = createJsonLogger();
const metrics = createMetrics();
const server = createHttpServer(
  createApp({ store, keys: createKeyRegistry({ adminKeySha256: adminKeySha256(process.env.AUDITOR_API_KEY), log }), metrics, maxBodyBytes: 1024 * 1024, log }),
  { log, metrics },
);
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1', () => {
  log.info({ msg: 'listening', baseline: true });
});
process.once('SIGTERM', () => server.close());

function adminKeySha256(key: string | undefined) {
  return key === undefined ? undefined : hashKey(key);
}
