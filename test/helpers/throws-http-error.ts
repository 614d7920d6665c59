import assert from 'node:assert/strict';
import { HttpError } from '../../src/http/http-error.js';

/** Asserts that `action` throws an HttpError with `status` and a message matching `message`. */
export function throwsHttpError(action: () => unknown, status: number, message: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof HttpError, `not an HttpError: ${String(error)}`);
    assert.equal(error.status, status);
    assert.match(error.message, message);
    return true;
  });
}
