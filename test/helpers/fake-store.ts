import type { EventStore } from '../../src/store/event-store.js';

/** An EventStore for tests that need control over one method; the rest do nothing or refuse. */
export function fakeStore(overrides: Partial<EventStore>): EventStore {
  return {
    append: () => Promise.reject(new Error('this fake store does not append')),
    appendAll: () => Promise.reject(new Error('this fake store does not append')),
    async *query() {},
    get: async () => undefined,
    checkpoint: () => Promise.reject(new Error('this fake store keeps no chain')),
    sizeBytes: async () => 0,
    isReady: async () => true,
    close: async () => {},
    ...overrides,
  };
}
