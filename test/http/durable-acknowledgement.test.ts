import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NewEvent, StoredEvent } from '../../src/events/event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { createGroupCommit, type CommitBatch } from '../../src/store/group-commit.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable.js';
import { captureLog } from '../helpers/capture-log.js';
import { fakeStore } from '../helpers/fake-store.js';
import { errorMessage, startTestServer } from '../helpers/test-server.js';

/** A store whose commits the test controls, on the real group-commit writer. */
function storeWithCommit(commit: CommitBatch<NewEvent, StoredEvent>): EventStore {
  const writer = createGroupCommit(commit, { maxBatch: 1000 });
  return fakeStore({ append: (event) => writer.submit(event), close: () => writer.drain() });
}

const stored = (event: NewEvent, i: number): StoredEvent => ({
  ...event,
  id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
  timestampMs: 0,
  seq: i,
});

describe('acknowledgement follows the commit', () => {
  it('sends no 201 before the batch holding the event has committed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const committing = new Promise<void>((resolve) => (entered = resolve));
    const committed: NewEvent[] = [];
    const log = captureLog();
    const server = await startTestServer({
      log: log.logger,
      store: storeWithCommit(async (events) => {
        entered();
        await gate;
        committed.push(...events);
        return events.map((event, i) => ({ ok: true, value: stored(event, i) }));
      }),
    });
    try {
      let answered = false;
      const response = server.post({ user_id: 'u', event_type: 't' }, { 'X-Request-Id': 'held' }).then((r) => {
        answered = true;
        return r;
      });
      await committing;
      // A request sent after the commit began, and answered: an answer to the first sent before its
      // commit ended would have been written, and logged, before this one was even read.
      const later = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'after' } });
      await log.requestLine('after');
      assert.equal(later.status, 200);
      assert.equal(answered, false, 'answered before the commit');
      assert.equal(log.lines.some((line) => line.request_id === 'held'), false, 'answered before the commit');
      assert.equal(committed.length, 0);
      release();
      assert.equal((await response).status, 201);
      assert.equal(committed.length, 1);
    } finally {
      release(); // a failed assertion leaves the commit waiting, and close waits for it
      await server.close();
    }
  });

  it('answers 503 to every request of a batch whose commit fails, and 201 to the next batch', async () => {
    let commits = 0;
    let failedBatchSize = 0;
    const server = await startTestServer({
      store: storeWithCommit((events) => {
        if (++commits === 1) {
          failedBatchSize = events.length;
          throw new StoreUnavailableError('disk I/O error', { cause: new Error('SQLITE_IOERR: disk I/O error') });
        }
        return events.map((event, i) => ({ ok: true, value: stored(event, i) }));
      }),
    });
    try {
      // Concurrent requests may land in one batch or several: exactly those of the first (failed)
      // batch get a 503, every other one a 201.
      const first = await Promise.all(Array.from({ length: 5 }, () => server.post({ user_id: 'u', event_type: 't' })));
      assert.ok(failedBatchSize > 0);
      assert.equal(first.filter((r) => r.status === 503).length, failedBatchSize);
      for (const response of first) {
        assert.ok(response.status === 503 || response.status === 201, String(response.status));
        if (response.status === 503) {
          assert.equal(response.headers.get('retry-after'), '1');
          assert.match(await errorMessage(response), /could not be stored and was not recorded/);
        }
      }
      const later = await server.post({ user_id: 'u', event_type: 't' });
      assert.equal(later.status, 201);
    } finally {
      await server.close();
    }
  });

  it('stores each of 1000 concurrent POSTs exactly once (and answers each 201 with its own id)', async () => {
    const server = await startTestServer();
    try {
      const responses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => server.post({ user_id: 'thousand', event_type: 't', data: { i } })),
      );
      const ids = await Promise.all(responses.map(async (r) => {
        assert.equal(r.status, 201);
        return ((await r.json()) as { id: string }).id;
      }));
      const events = (await (await server.get('user_id=thousand')).json()) as Array<{ id: string; data: { i: number } }>;
      assert.equal(events.length, 1000);
      assert.deepEqual(new Set(events.map((e) => e.id)), new Set(ids));
      assert.deepEqual(events.map((e) => e.data.i).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
    } finally {
      await server.close();
    }
  });
});
