import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createEventStore } from '../../src/store/create-event-store.js';
import { openSqliteBackend } from '../../src/store/sqlite/sqlite-backend.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable.js';

describe('the shared half of every store', () => {
  it('answers a committed transaction whose outcomes do not match its submissions as a fault of ours, not a refusal, and stays ready', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'auditor-shared-half-'));
    const backend = openSqliteBackend(join(dir, 'auditor.db'), { chainSecret: 'shared-half-test-secret' });
    let probes = 0;
    const store = createEventStore({
      ...backend,
      // A backend with a bug: it drops the first outcome of every commit.
      commit: async (submissions) => (await backend.commit(submissions)).slice(1),
      probeWrite: () => (probes++, backend.probeWrite()),
    });
    t.after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const results = await Promise.allSettled([
      store.append({ userId: 'u', eventType: 't', dataJson: '{}' }),
      store.append({ userId: 'u', eventType: 't', dataJson: '{}' }),
    ]);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.ok(!(result.reason instanceof StoreUnavailableError), 'no 503 saying "not recorded" for events that were');
      assert.ok(result.reason instanceof Error);
      assert.equal(result.reason.message, 'the backend answered 1 submissions of 2');
    }
    assert.equal(await store.isReady(), true);
    assert.equal(probes, 0, 'ready on the commit\'s own record, as the database took the writes: no failed write to probe after');
  });
});
