import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreUnavailableError } from '../../src/store/store-unavailable.js';
import { breakStore } from '../helpers/break-store.js';
import { fakeStore } from '../helpers/fake-store.js';
import { captureLog } from '../helpers/capture-log.js';
import { TEST_BACKEND } from '../helpers/test-database.js';
import { startTestServer } from '../helpers/test-server.js';

const NOT_RECORDED = { message: 'The event could not be stored and was not recorded; retry later' };

/** Asserts a whole 503 of a refused write. */
async function assertNotRecorded(response: Response): Promise<void> {
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(response.headers.get('retry-after'), '1');
  assert.deepEqual(await response.json(), NOT_RECORDED);
}

const STACK_FRAME = /\n\s+at /;

describe(`the log while the store refuses writes (${TEST_BACKEND})`, () => {
  it('logs a recognised store failure without a stack, at most once a second, counting every refused request', async () => {
    const captured = captureLog();
    const server = await startTestServer({ log: captured.logger, storeOptions: { log: captured.logger } });
    let refusal: RegExp;
    try {
      assert.equal((await server.post({ user_id: 'log', event_type: 'before' })).status, 201);
      refusal = await breakStore(server);
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => server.post({ user_id: 'log', event_type: 'during', data: { i } })));
      for (const response of responses) await assertNotRecorded(response);
      for (const response of await Promise.all(Array.from({ length: 5 }, () => server.post({ user_id: 'log', event_type: 'later' })))) {
        await assertNotRecorded(response);
      }
    } finally {
      await server.close(); // logs what is counted and not yet logged
    }
    const errors = captured.lines.filter((line) => line.level === 'error');
    assert.deepEqual(errors.filter((line) => STACK_FRAME.test(String(line.error ?? ''))), [], 'no stack');
    const refused = errors.filter((line) => String(line.msg).startsWith('writes refused: '));
    for (const line of refused) assert.match(String(line.msg), refusal);
    assert.equal(refused.reduce((sum, line) => sum + Number(line.requests), 0), 25, 'every refused request counted');
    assert.equal(refused[0]!.requests, 1, 'the first is logged at once');
    const others = errors.filter((line) => !String(line.msg).startsWith('writes refused: ') && !/^(DATABASE FILE LOST|copied everything)/.test(String(line.msg)));
    assert.deepEqual(others, [], 'nothing else logged per request');
  });

  it('logs a failure it does not recognise with its stack, for each request', async () => {
    const captured = captureLog();
    const server = await startTestServer({
      log: captured.logger,
      // As the store wraps a driver error it has no reason for: the cause is all there is to go on.
      store: fakeStore({ append: () => Promise.reject(new StoreUnavailableError('the store failed', { cause: new Error('a fault of the code'), recognised: false })) }),
    });
    try {
      await assertNotRecorded(await server.post({ user_id: 'log', event_type: 'fault' }));
      await assertNotRecorded(await server.post({ user_id: 'log', event_type: 'fault' }));
    } finally {
      await server.close();
    }
    const logged = captured.lines.filter((line) => line.level === 'error');
    assert.equal(logged.length, 2);
    for (const line of logged) {
      assert.equal(line.msg, NOT_RECORDED.message);
      assert.match(String(line.error), /^Error: a fault of the code\n\s+at /);
    }
  });
});
