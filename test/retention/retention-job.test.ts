import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRemovalLock } from '../../src/retention/removal-lock.js';
import { startRetentionJob } from '../../src/retention/retention-job.js';
import { parseRetentionPolicy } from '../../src/retention/retention-policy.js';
import { captureLog } from '../helpers/capture-log.js';
import { fakeStore } from '../helpers/fake-store.js';

describe('the retention job', () => {
  it('logs and counts a run the database fails, and runs again the next time', async () => {
    let failing = true;
    const store = fakeStore({});
    const removals = {
      ...store.removals,
      nextTypeWithPayload: async () => {
        if (failing) throw new Error('the database is down');
        return undefined;
      },
    };
    const log = captureLog();
    const failures: string[] = [];
    let completed = 0;
    const job = startRetentionJob({
      store: { ...store, removals }, policy: parseRetentionPolicy('default=1d')!.policy!, lock: createRemovalLock(), intervalMs: 3_600_000,
      log: log.logger, onFailure: (error) => failures.push(error.message), onRun: () => completed++,
    });
    try {
      await assert.rejects(job.runNow(), /the database is down/);
      const line = await log.waitFor((entry) => entry.msg === 'retention run failed; it runs again at the next interval');
      assert.equal(line.error, 'the database is down');
      assert.ok(failures.length >= 1 && failures.every((message) => message === 'the database is down'), String(failures));
      assert.equal(completed, 0);
      failing = false;
      assert.deepEqual(await job.runNow().then(({ removed, record }) => ({ removed, record })), { removed: 0, record: null });
      await new Promise((resolve) => setImmediate(resolve));
      // The run the job makes at start may fall on either side of the recovery: one or two completed.
      assert.ok(completed >= 1, `${completed} runs completed`);
    } finally {
      await job.stop();
    }
  });
});
