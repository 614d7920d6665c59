import type { EventStore } from '../../src/store/event-store.js';

/** An EventStore for tests that need control over one method; the rest do nothing or refuse. */
export function fakeStore(overrides: Partial<EventStore>): EventStore {
  return {
    append: () => Promise.reject(new Error('this fake store does not append')),
    appendAll: () => Promise.reject(new Error('this fake store does not append')),
    async *query() {},
    summarize: () => Promise.reject(new Error('this fake store does not summarize')),
    get: async () => undefined,
    checkpoint: () => Promise.reject(new Error('this fake store keeps no chain')),
    verifierKey: 'fake.example/log+00000000+AQ==',
    signedCheckpoint: () => Promise.reject(new Error('this fake store keeps no tree')),
    inclusionProof: () => Promise.reject(new Error('this fake store keeps no tree')),
    consistencyProof: () => Promise.reject(new Error('this fake store keeps no tree')),
    saveCosignatures: () => Promise.reject(new Error('this fake store keeps no tree')),
    removals: {
      removePayloads: () => Promise.reject(new Error('this fake store removes nothing')),
      reclaimSpace: async () => {},
      nextTypeWithPayload: async () => undefined,
      payloadsRecordedBefore: async () => [],
      pseudonymOf: ({ value }) => `erased-${value}`,
    },
    sinks: {
      list: async () => [],
      change: () => Promise.reject(new Error('this fake store keeps no sinks')),
    },
    sizeBytes: async () => 0,
    isReady: async () => true,
    close: async () => {},
    ...overrides,
  };
}
