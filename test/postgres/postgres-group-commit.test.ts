import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

describe('group commit on PostgreSQL', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase('postgres');
  });
  after(() => database.drop());

  it('commits concurrent events together, each once, with seq in commit order and no gaps', async () => {
    const batches: number[] = [];
    const store = await database.openStore({ onBatchCommitted: (events) => batches.push(events) });
    try {
      const stored = await Promise.all(
        Array.from({ length: 300 }, (_, i) => store.append({ userId: 'grouped', eventType: 't', dataJson: `{"i":${i}}` })),
      );
      assert.equal(batches.reduce((sum, events) => sum + events, 0), 300);
      assert.ok(batches.length < 30 && Math.max(...batches) > 10, `300 events in ${batches.length} commits: ${batches.join(', ')}`);
      assert.deepEqual(stored.map((event) => event.seq).sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i + 1));
      assert.equal(await database.countEvents('grouped'), 300);
    } finally {
      await store.close();
    }
  });
});
